/*
 * Exit-accounting probe: in real mode, OUTS (port 0x80) times, then CPUIDS CPUID instructions,
 * then CLI; HLT. A correct monitor counts exactly OUTS IO_INSTRUCTION exits, CPUIDS CPUID
 * exits and one HLT exit. OUTS and CPUIDS are set with --defsym (both at least 1).
 */
        .code16
        .text
        .globl _start
_start:
        cli
        xor %ax, %ax
        mov %ax, %ss
        mov $0x7000, %sp
        mov $OUTS, %cx
1:      mov %cl, %al
        out %al, $0x80
        loop 1b
        mov $CPUIDS, %cx
2:      push %cx
        xor %eax, %eax
        cpuid
        pop %cx
        loop 2b
        hlt

        .include "reset-vector.S"
