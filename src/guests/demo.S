/*
 * vmlab's demo guest: enters protected mode with paging, prints what it is doing on the
 * serial console, asks CPUID for the vendor, counts the primes below 100000 with a sieve,
 * writes progress codes to port 0x80, and halts.
 */
        .include "pm-init.S"

        .set SIEVE, 0x200000
        .set SIEVE_N, 100000

        .code32
main32:
        mov $(msg_hello + IMAGE_BASE), %esi
        call puts32

        xor %eax, %eax
        cpuid
        mov %ebx, 0x20000
        mov %edx, 0x20004
        mov %ecx, 0x20008
        movl $0, 0x2000C
        mov $(msg_vendor + IMAGE_BASE), %esi
        call puts32
        mov $0x20000, %esi
        call puts32
        mov $(msg_nl + IMAGE_BASE), %esi
        call puts32

        mov $1, %eax
        cpuid
        mov $(msg_features + IMAGE_BASE), %esi
        call puts32
        mov %edx, %eax
        call puthex32
        mov $(msg_nl + IMAGE_BASE), %esi
        call puts32

        mov $0x58, %al
        out %al, $0x80

        /* Sieve of Eratosthenes over SIEVE_N bytes at SIEVE (in a 4 MiB page). */
        mov $SIEVE, %edi
        mov $SIEVE_N, %ecx
        mov $1, %al
        rep stosb
        movb $0, SIEVE
        movb $0, SIEVE + 1
        mov $2, %ebx
1:      mov %ebx, %eax
        imul %ebx, %eax
        cmp $SIEVE_N, %eax
        jae 4f
        cmpb $0, SIEVE(%ebx)
        je 3f
2:      movb $0, SIEVE(%eax)
        add %ebx, %eax
        cmp $SIEVE_N, %eax
        jb 2b
3:      inc %ebx
        jmp 1b
4:      xor %eax, %eax
        xor %ecx, %ecx
5:      movzbl SIEVE(%ecx), %edx
        add %edx, %eax
        inc %ecx
        cmp $SIEVE_N, %ecx
        jb 5b
        mov $(msg_primes + IMAGE_BASE), %esi
        call puts32
        call putdec32
        mov $(msg_nl + IMAGE_BASE), %esi
        call puts32

        mov $0x59, %al
        out %al, $0x80
        mov $(msg_bye + IMAGE_BASE), %esi
        call puts32
        cli
        hlt

msg_hello:    .asciz "vmlab demo guest: 32-bit protected mode, paging on\r\n"
msg_vendor:   .asciz "CPUID vendor: "
msg_features: .asciz "CPUID.1 EDX features: 0x"
msg_primes:   .asciz "primes below 100000: "
msg_bye:      .asciz "halting\r\n"
msg_nl:       .asciz "\r\n"

        .include "reset-vector.S"
