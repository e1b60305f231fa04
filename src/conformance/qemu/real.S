/*
 * Real mode: segment arithmetic and offset wraparound, interrupts through the IVT (the
 * frame the CPU pushes, IF/TF cleared in the handler), exceptions in real mode (#DE, #UD,
 * #BP, #OF, #BR: which IP is pushed), REP string instructions across segments and with
 * DF=1, and a few arithmetic results (SDM Vol. 3A 20.1 "Real-address mode operation").
 */
        .include "lib.inc"
        .set STACK, 0x7000
        .set RESUME, 0x0500          /* word: IP the exception handler returns to */

        .text
        .code16
        .globl _start
_start:
        cli
        cld
        xor %ax, %ax
        mov %ax, %ss
        mov $STACK, %sp
        mov %ax, %ds
        mov %ax, %es
        PUTS16 "real: start"
        NL16

/* ---- segment arithmetic: linear = seg * 16 + offset, 16-bit offsets wrap ---- */
        mov $0x1234, %ax
        mov %ax, %ds
        movw $0xBEEF, 0x0010         /* linear 0x12350 */
        xor %ax, %ax
        mov %ax, %es
        mov %es:0x2350, %ax          /* 0x0000:0x2350 -> nothing; read 0x1235:0x0000 instead */
        mov $0x1235, %bx
        mov %bx, %es
        mov %es:0x0000, %cx          /* same linear address through another segment */
        PUTS16 "seg: alias"
        HEXW16 cx, %cx
        /* Offset wrap: [bx+si] with bx+si > 0xFFFF wraps to 16 bits. */
        mov $0x2000, %ax
        mov %ax, %ds
        movb $0x5A, 0x0001           /* linear 0x20001 */
        movb $0xA5, 0xFFFF
        mov $0xFFFF, %bx
        mov $0x0002, %si
        mov (%bx,%si), %al           /* offset 0x0001 */
        mov $0, %ah
        HEXW16 wrap, %ax
        /* A word at offset 0xFFFF: the second byte comes from offset 0x0000 on real
           hardware? No: it is #GP/#SS in real mode on 286+ (segment wraparound). Skipped:
           QEMU does not model real-mode limit checks. */
        /* LEA is pure arithmetic, 16-bit. */
        mov $0xFFF0, %bx
        mov $0x0020, %di
        lea 0x10(%bx,%di), %dx
        HEXW16 lea, %dx
        /* Segment register round trip */
        mov $0x8765, %ax
        mov %ax, %fs
        mov %fs, %dx
        mov %ds, %cx
        HEXW16 fs, %dx
        HEXW16 ds, %cx
        NL16
        xor %ax, %ax
        mov %ax, %ds

/* ---- interrupts through the IVT ---- */
        movw $int40, 0x40*4
        movw $0xF000, 0x40*4+2
        mov $0x1111, %ax
        mov $0x2222, %bx
        push $0x0CD7                 /* DF=1 and arithmetic flags; IF=0 (no BIOS: no interrupt sources set up), TF=0 */
        popf
        mov %sp, %bp
        int $0x40
after40:
        pushf
        pop %dx
        PUTS16 "int40: back"
        HEXW16 sp_delta, %bp
        HEXW16 fl, %dx
        NL16

/* ---- exceptions in real mode through the IVT ---- */
        movw $exc0, 0*4
        movw $0xF000, 0*4+2
        movw $exc3, 3*4
        movw $0xF000, 3*4+2
        movw $exc4, 4*4
        movw $0xF000, 4*4+2
        movw $exc5, 5*4
        movw $0xF000, 5*4+2
        movw $exc6, 6*4
        movw $0xF000, 6*4+2

        movw $1f, RESUME
        xor %dx, %dx
        mov $0x1234, %ax
        xor %cx, %cx
de_insn:
        div %cx
1:
        movw $1f, RESUME
ud_insn:
        ud2
1:
        movw $1f, RESUME
bp_insn:
        int3
1:
        movw $1f, RESUME
        mov $0x7F, %al
        add $1, %al                  /* OF = 1 */
of_insn:
        into
1:
        movw $1f, RESUME
        movw $10, 0x600
        movw $20, 0x602
        mov $30, %ax
br_insn:
        bound %ax, 0x600
1:
        /* DIV overflow (quotient too large) is #DE as well. */
        movw $1f, RESUME
        mov $0x0010, %dx
        mov $0x0000, %ax
        mov $0x0002, %cx
        div %cx
1:
        /* 8-bit IDIV of -128 by -1: quotient 128 does not fit: #DE. */
        movw $1f, RESUME
        mov $0xFF80, %ax
        mov $0xFF, %cl
        idiv %cl
1:

/* ---- REP string instructions across segments ---- */
        /* Source 0x3000:0xFFF8 (wraps to 0x3000:0x0000 after 8 bytes), destination 0x4000:0x0010. */
        mov $0x3000, %ax
        mov %ax, %ds
        mov $0, %bx
1:      mov %bl, (%bx)
        inc %bx
        cmp $0x20, %bx
        jne 1b
        movl $0xF8F9FAFB, 0xFFF8
        movl $0xFCFDFEFF, 0xFFFC
        mov $0x4000, %ax
        mov %ax, %es
        mov $0xFFF8, %si
        mov $0x0010, %di
        mov $16, %cx
        cld
        rep movsb
        PUTS16 "rep movsb wrap:"
        HEXW16 si, %si
        HEXW16 di, %di
        HEXW16 cx, %cx
        HEX16 d0, %es:0x10
        HEX16 d1, %es:0x14
        HEX16 d2, %es:0x18
        HEX16 d3, %es:0x1c
        NL16
        /* REP STOSW backwards, then REPE CMPSW that stops at the first difference. */
        mov $0x5A5A, %ax
        mov $0x0040, %di
        mov $8, %cx
        std
        rep stosw
        cld
        PUTS16 "rep stosw std:"
        HEXW16 di, %di
        HEX16 m30, %es:0x30
        HEX16 m34, %es:0x34
        HEX16 m38, %es:0x38
        HEX16 m3c, %es:0x3c
        HEX16 m40, %es:0x40
        NL16
        mov %es, %ax
        mov %ax, %ds
        movw $0x1234, 0x3a
        mov $0x0032, %si
        mov $0x0032, %di
        mov $0x3000, %ax
        mov %ax, %ds
        movl $0x5a5a5a5a, 0x32
        movl $0x5a5a5a5a, 0x36
        movl $0x5a5a5a5a, 0x3a
        mov $8, %cx
        repe cmpsw
        pushf
        pop %dx
        and $0x08D5, %dx
        PUTS16 "repe cmpsw:"
        HEXW16 si, %si
        HEXW16 di, %di
        HEXW16 cx, %cx
        HEXW16 fl, %dx
        NL16
        /* 32-bit operand size in real mode: REP MOVSD with 66 prefix. */
        mov $0x3000, %ax
        mov %ax, %ds
        mov $0x5000, %ax
        mov %ax, %es
        xor %si, %si
        xor %di, %di
        mov $5, %cx
        rep movsl
        PUTS16 "rep movsd:"
        HEXW16 si, %si
        HEXW16 di, %di
        HEX16 d0, %es:0
        HEX16 d4, %es:0x10
        NL16
        /* LODS with a segment override, SCAS with REPNE finding a byte. */
        mov $0x3000, %ax
        mov %ax, %es
        xor %ax, %ax
        mov %ax, %ds
        mov $0x0004, %si
        es lodsl
        mov %eax, %ebx
        mov $0x0000, %di
        mov $0x0D, %al
        mov $0x40, %cx
        repne scasb
        PUTS16 "lods/scas:"
        HEX16 ebx, %ebx
        HEXW16 di, %di
        HEXW16 cx, %cx
        NL16

        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        PUTS16 "real: done"
        NL16
        EXIT16

/* ---- handlers ---- */
int40:
        /* Frame: [sp] = IP, [sp+2] = CS, [sp+4] = FLAGS. IF and TF are clear here. */
        push %bp
        mov %sp, %bp
        pushf
        pop %dx
        PUTS16 "int40:"
        HEXW16 ip, 2(%bp)
        HEXW16 cs, 4(%bp)
        HEXW16 fl, 6(%bp)
        HEXW16 fl_in, %dx
        HEXW16 ax, %ax
        HEXW16 bx, %bx
        NL16
        pop %bp
        mov %sp, %dx
        sub %dx, %bp                 /* bp = sp before INT - sp in handler = 6 */
        iret

        .macro REXC n
exc\n:
        push %bp
        mov %sp, %bp
        PUTS16 "exc \n:"
        HEXW16 ip, 2(%bp)
        HEXW16 cs, 4(%bp)
        push %ax
        mov 6(%bp), %ax
        and $0xF72A, %ax             /* FLAGS image without the arithmetic flags */
        HEXW16 fl, %ax
        pop %ax
        HEXW16 ax, %ax
        HEXW16 sp, %bp
        NL16
        push %ax
        mov %cs:0, %ax               /* keep the segment register state */
        xor %ax, %ax
        push %ds
        mov %ax, %ds
        mov RESUME, %ax
        pop %ds
        mov %ax, 2(%bp)
        pop %ax
        pop %bp
        iret
        .endm
        REXC 0
        REXC 3
        REXC 4
        REXC 5
        REXC 6

        LIB_CODE16
        RESET_VECTOR
