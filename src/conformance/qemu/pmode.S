/*
 * Protected mode: entering 16-bit and 32-bit protected mode (GDT, far jumps), descriptor
 * instructions (SGDT/SIDT/STR/LAR/LSL/VERR/VERW), the accessed bit, exceptions through
 * the IDT with their error codes (#UD #DE #GP(selector) #NP #SS #BR #BP #OF, selector
 * error codes without RPL, IDT-limit and gate-DPL faults), ring 3 entered with IRET, INT
 * from ring 3 through a DPL-3 gate (the TSS stack switch: the frame lands below ESP0),
 * and privileged instructions faulting in ring 3 (SDM Vol. 3A chapters 3, 5, 6, 7).
 */
        .include "lib.inc"
        .include "pm-common.inc"

        .text
        .code16
        .globl _start
_start:
        cli
        cld
        xor %ax, %ax
        mov %ax, %ss
        mov $STACK0, %sp
        mov %ax, %ds
        mov %ax, %es
        PUTS16 "pm: real mode"
        NL16
        mov $gdt_rom, %si
        mov $GDT_RAM, %di
        mov $(gdt_rom_end - gdt_rom), %cx
        cs rep movsb
        lgdtl %cs:gdtr_rom
        mov %cr0, %eax
        or $1, %eax
        mov %eax, %cr0
        ljmp $0x18, $pm16

/* ---- 16-bit protected mode: CS base F0000, a data segment based at 12340 ---- */
pm16:
        mov $0x20, %ax
        mov %ax, %ds
        movw $0xABCD, 0x10
        movw $0x1357, 0xFE
        mov 0xFE, %bx
        mov %cs, %cx
        PUTS16 "pm16:"
        HEXW16 cs, %cx
        HEXW16 rd, %bx
        smsw %dx
        HEXW16 msw, %dx
        NL16
        ljmpl $0x08, $(pm32 + BASE)

        .code32
pm32:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
        mov $STACK0, %esp
        call setup_idt_tss
        PUTS32 "pm32:"
        movzwl 0x12350, %eax
        HEX32 m12350, %eax
        movzwl 0x1243E, %eax
        HEX32 m1243e, %eax
        sgdtl 0x600
        sidtl 0x608
        movzwl 0x600, %eax
        HEX32 gdt_lim, %eax
        HEX32 gdt_base, 0x602
        movzwl 0x608, %eax
        HEX32 idt_lim, %eax
        HEX32 idt_base, 0x60A
        xor %eax, %eax
        str %ax
        HEX32 tr, %eax
        NL32

/* ---- descriptor instructions ---- */
        .irp sel, 0x08, 0x10, 0x1B, 0x20, 0x2B, 0x38, 0x40, 0x48, 0x50, 0x58, 0x68, 0x78, 0x80, 0x00
        mov $0xDEADBEEF, %eax
        mov $0xDEADBEEF, %ebx
        mov $\sel, %ecx
        lar %ecx, %eax
        setz %dl
        lsl %ecx, %ebx
        setz %dh
        movzbl %dl, %esi
        movzbl %dh, %edi
        verr %cx
        setz %dl
        verw %cx
        setz %dh
        PUTS32 "desc \sel:"
        HEX32 lar, %eax
        HEX32 zl, %esi
        HEX32 lsl, %ebx
        HEX32 zs, %edi
        movzwl %dx, %eax
        HEX32 verrw, %eax
        NL32
        .endr

/* ---- the accessed bit is set on a segment load ---- */
        movzbl GDT_RAM + 0x70 + 5, %ebx
        mov $0x70, %ax
        mov %ax, %fs
        movzbl GDT_RAM + 0x70 + 5, %ecx
        mov $0x10, %ax
        mov %ax, %fs
        PUTS32 "accessed:"
        HEX32 before, %ebx
        HEX32 after, %ecx
        NL32

/* ---- exceptions in ring 0 ---- */
        SET_RESUME 1f
        ud2
1:      SET_RESUME 1f
        xor %edx, %edx
        mov $7, %eax
        xor %ecx, %ecx
        div %ecx
1:      SET_RESUME 1f
        mov $0x83, %ax               /* beyond the GDT limit; RPL 3 is not in the error code */
        mov %ax, %ds
1:      SET_RESUME 1f
        mov $0x48, %ax               /* execute-only code segment into DS */
        mov %ax, %ds
1:      SET_RESUME 1f
        mov $0x40, %ax               /* not present: #NP(sel) */
        mov %ax, %es
1:      SET_RESUME 1f
        mov $0x40, %ax               /* not present into SS: #SS(sel) */
        mov %ax, %ss
1:      SET_RESUME 1f
        mov $0x33, %ax               /* DPL 3 data into SS at CPL 0: #GP(sel) */
        mov %ax, %ss
1:      SET_RESUME 1f
        mov $0x08, %ax               /* code segment into SS: #GP(sel) */
        mov %ax, %ss
1:      SET_RESUME 1f
        mov $0x3B, %ax               /* TSS descriptor into DS: #GP(sel) */
        mov %ax, %ds
1:
        /* Valid accesses through limited and expand-down segments. */
        mov $0x58, %ax
        mov %ax, %es
        movl $0x11223344, %es:0xFFC
        mov %es:0xFFC, %ebx
        mov $0x68, %ax
        mov %ax, %es
        movl $0x55667788, %es:0x1000
        mov %es:0x1000, %ecx
        mov $0x10, %ax
        mov %ax, %es
        PUTS32 "limits ok:"
        HEX32 v1, %ebx
        HEX32 v2, %ecx
        HEX32 phys, 0xFFC
        NL32
        /*
         * Faults of data accesses against segment limits and types (#GP(0) for a write to a
         * read-only segment, an offset beyond the limit, an expand-down offset at or below
         * the limit, a null selector; #SS(0) beyond the SS limit) are architectural but
         * QEMU's TCG does not check them, so they are not part of this program.
         */
        SET_RESUME 1f
        movl $10, 0x600
        movl $20, 0x604
        mov $21, %eax
        bound %eax, 0x600
1:      SET_RESUME 1f
        mov $0x1111, %eax
        int3
1:      SET_RESUME 1f
        mov $0x7FFFFFFF, %eax
        add $1, %eax
        into
1:      SET_RESUME 1f
        int $0x90                    /* beyond the IDT limit: #GP(0x90*8+2) */
1:      SET_RESUME 1f
        int $0x82                    /* not-present gate: #NP(0x82*8+2) */
1:      SET_RESUME 1f
        mov $0xCAFE, %eax
        int $0x81                    /* DPL-0 gate from CPL 0: allowed */
        PUTS32 "int81 from ring 0: back"
        NL32
1:      SET_RESUME 1f
        .byte 0x0F, 0xFF             /* undefined opcode (UD0) */
1:      SET_RESUME 1f
        .byte 0xF0, 0x01, 0xC3       /* LOCK ADD EBX, EAX: LOCK on a register destination is #UD */
1:

/* ---- ring 3 with IOPL 3 (can print): INT through DPL-3 and DPL-0 gates ---- */
        SET_RESUME 1f
        TO_RING3 ring3a, 0x3002
1:
/* ---- ring 3 with IOPL 0: privileged and I/O instructions fault ---- */
        SET_RESUME 1f
        TO_RING3 ring3_cli, 0x0002
1:      SET_RESUME 1f
        TO_RING3 ring3_out, 0x0002
1:      SET_RESUME 1f
        TO_RING3 ring3_hlt, 0x0002
1:      SET_RESUME 1f
        TO_RING3 ring3_cr0, 0x0002
1:      SET_RESUME 1f
        TO_RING3 ring3_ds0, 0x0002
1:      SET_RESUME 1f
        TO_RING3 ring3_np, 0x0002
1:      SET_RESUME 1f
        TO_RING3 ring3_lgdt, 0x0002
1:      SET_RESUME 1f
        TO_RING3 ring3_popf, 0x3202 & ~0x200
1:
        PUTS32 "pm: done"
        NL32
        EXIT32

ring3a:
        mov %cs, %ebx
        mov %ss, %ecx
        mov %esp, %edx
        PUTS32 "ring3:"
        movzwl %bx, %ebx
        movzwl %cx, %ecx
        HEX32 cs, %ebx
        HEX32 ss, %ecx
        HEX32 esp, %edx
        NL32
        mov $0x12345678, %eax
        int $0x80
        mov %esp, %edx
        pushfl
        popl %ebx
        and $0xFFFEF72A, %ebx
        PUTS32 "ring3: back"
        HEX32 esp, %edx
        HEX32 fl, %ebx
        NL32
        int $0x81                    /* DPL-0 gate from ring 3: #GP(0x81*8+2) */
        jmp .
ring3_cli:
        cli
        jmp .
ring3_out:
        out %al, $0x80
        jmp .
ring3_hlt:
        hlt
        jmp .
ring3_cr0:
        mov %cr0, %eax
        jmp .
ring3_ds0:
        mov $0x10, %ax               /* DPL 0 data from CPL 3: #GP(0x10) */
        mov %ax, %ds
        jmp .
ring3_np:
        int $0x82                    /* DPL 3 but not present: #NP(0x82*8+2) */
        jmp .
ring3_lgdt:
        lgdt 0x600
        jmp .
ring3_popf:
        /* POPF at CPL 3 with IOPL 3 may change IF; then INT3 shows the EFLAGS image. */
        pushl $0x0202
        popfl
        int3
        jmp .

        PM_COMMON_CODE
        LIB_CODE32
        LIB_CODE16
        PM_COMMON_DATA
        RESET_VECTOR
