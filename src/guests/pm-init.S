/*
 * Shared start-up for vmlab's built-in guests: a 64 KiB firmware image, linked at offset 0
 * and mapped at F0000 (and below 4 GiB). From the reset vector F000:FFF0 it enters 32-bit
 * protected mode with a code segment based at F0000 (so link-time offsets are valid EIPs)
 * and flat data segments, turns on paging (identity map: 4 KiB pages for the first 4 MiB,
 * 4 MiB PSE pages up to 64 MiB), and jumps to `main32`.
 *
 * Helpers: puts32 (ESI = linear address of a NUL-terminated string), puthex32 (EAX),
 * putdec32 (EAX). All print on COM1 (0x3F8).
 */
        .set IMAGE_BASE, 0xF0000
        .set COM1, 0x3F8
        .set PAGE_DIR, 0x10000
        .set PAGE_TABLE0, 0x11000
        .set STACK_TOP, 0x90000

        .code16
        .text
        .globl _start
_start:
start16:
        cli
        cld
        mov $0xF000, %ax
        mov %ax, %ds
        xor %ax, %ax
        mov %ax, %ss
        mov $0x7000, %sp
        mov $0x55, %al
        out %al, $0x80              /* POST code: real mode reached */
        lgdtl gdt_ptr
        mov %cr0, %eax
        or $1, %eax
        mov %eax, %cr0
        ljmpl $0x08, $start32

        .code32
start32:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
        mov $STACK_TOP, %esp
        mov $0x56, %al
        out %al, $0x80              /* POST code: protected mode */

        /* Page table 0: identity map of 0..4 MiB with 4 KiB pages (present, writable). */
        mov $PAGE_TABLE0, %edi
        mov $0x003, %eax
        mov $1024, %ecx
1:      mov %eax, (%edi)
        add $4, %edi
        add $0x1000, %eax
        loop 1b
        /* Page directory: PDE 0 -> table 0; PDE 1..15 -> 4 MiB pages; the rest not present. */
        mov $PAGE_DIR, %edi
        xor %eax, %eax
        mov $1024, %ecx
        rep stosl
        movl $(PAGE_TABLE0 | 0x003), PAGE_DIR
        mov $1, %ecx
2:      mov %ecx, %eax
        shl $22, %eax
        or $0x083, %eax             /* PS | RW | P */
        mov %eax, PAGE_DIR(,%ecx,4)
        inc %ecx
        cmp $16, %ecx
        jb 2b
        mov %cr4, %eax
        or $0x10, %eax              /* CR4.PSE */
        mov %eax, %cr4
        mov $PAGE_DIR, %eax
        mov %eax, %cr3
        mov %cr0, %eax
        or $0x80010000, %eax        /* CR0.PG | CR0.WP */
        mov %eax, %cr0
        jmp 3f
3:      mov $0x57, %al
        out %al, $0x80              /* POST code: paging on */
        jmp main32

/* Print the NUL-terminated string at linear address ESI. */
puts32:
        push %eax
        push %edx
        mov $COM1, %dx
1:      lodsb
        test %al, %al
        jz 2f
        out %al, %dx
        jmp 1b
2:      pop %edx
        pop %eax
        ret

/* Print EAX as 8 hex digits. */
puthex32:
        push %eax
        push %ecx
        push %edx
        push %ebx
        mov %eax, %ebx
        mov $8, %ecx
        mov $COM1, %dx
1:      rol $4, %ebx
        mov %ebx, %eax
        and $0xF, %eax
        cmp $10, %al
        jb 2f
        add $('a' - '0' - 10), %al
2:      add $'0', %al
        out %al, %dx
        loop 1b
        pop %ebx
        pop %edx
        pop %ecx
        pop %eax
        ret

/* Print EAX in decimal. */
putdec32:
        push %eax
        push %ebx
        push %ecx
        push %edx
        mov $10, %ebx
        xor %ecx, %ecx
1:      xor %edx, %edx
        div %ebx
        push %edx
        inc %ecx
        test %eax, %eax
        jnz 1b
        mov $COM1, %dx
2:      pop %eax
        add $'0', %al
        out %al, %dx
        loop 2b
        pop %edx
        pop %ecx
        pop %ebx
        pop %eax
        ret

        .p2align 3
gdt:
        .quad 0
        .quad 0x00CF9B0F0000FFFF    /* 0x08: code, base 0xF0000, limit 4 GiB, 32-bit */
        .quad 0x00CF93000000FFFF    /* 0x10: data, base 0, limit 4 GiB, 32-bit */
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .long gdt + IMAGE_BASE
