/*
 * The interpreter benchmark's guest workload (protected mode, paging on): ITERS rounds of
 *   - CRC-32 (table-driven, IEEE polynomial) over a 16 KiB buffer: loads, shifts, xors, branches
 *   - REP MOVSD copy of the buffer
 *   - insertion sort of 256 pseudo-random dwords: compares, calls, stack traffic
 * then prints the final CRC and the sort checksum on COM1 and exits through
 * isa-debug-exit (port 0xF4) with status 0 -> exit code 1, which QEMU and vmlab share.
 * ITERS is set at assembly time (--defsym ITERS=n).
 */
        .include "pm-init.S"

        .set CRC_TABLE, 0x30000
        .set BUF, 0x400000
        .set BUF2, 0x410000
        .set BUF_LEN, 16384
        .set ARR, 0x420000
        .set ARR_N, 256

        .code32
main32:
        /* CRC table: for n in 0..255: c = n; 8 times: c = c&1 ? 0xEDB88320 ^ (c>>1) : c>>1 */
        xor %ecx, %ecx
1:      mov %ecx, %eax
        mov $8, %edx
2:      shr $1, %eax
        jnc 3f
        xor $0xEDB88320, %eax
3:      dec %edx
        jnz 2b
        mov %eax, CRC_TABLE(,%ecx,4)
        inc %ecx
        cmp $256, %ecx
        jb 1b
        /* Fill the buffer from an LCG. */
        mov $BUF, %edi
        mov $12345, %eax
        mov $(BUF_LEN / 4), %ecx
4:      imul $1103515245, %eax, %eax
        add $12345, %eax
        stosl
        loop 4b

        mov $ITERS, %ebp
        mov $0xFFFFFFFF, %ebx           /* running CRC across rounds */
round:
        /* CRC-32 over BUF */
        mov $BUF, %esi
        mov $BUF_LEN, %ecx
5:      movzbl (%esi), %eax
        inc %esi
        xor %bl, %al
        shr $8, %ebx
        xor CRC_TABLE(,%eax,4), %ebx
        dec %ecx
        jnz 5b
        /* copy */
        mov $BUF, %esi
        mov $BUF2, %edi
        mov $(BUF_LEN / 4), %ecx
        rep movsl
        /* sort */
        mov %ebx, %eax
        call fill_array
        call insertion_sort
        dec %ebp
        jnz round

        not %ebx
        mov $(msg_crc + IMAGE_BASE), %esi
        call puts32
        mov %ebx, %eax
        call puthex32
        mov $(msg_sum + IMAGE_BASE), %esi
        call puts32
        call array_checksum
        call puthex32
        mov $(msg_nl + IMAGE_BASE), %esi
        call puts32
        xor %eax, %eax
        out %al, $0xF4
        cli
        hlt

/* Fill ARR with ARR_N values from an LCG seeded with EAX. */
fill_array:
        push %ecx
        push %edi
        mov $ARR, %edi
        mov $ARR_N, %ecx
1:      imul $1664525, %eax, %eax
        add $1013904223, %eax
        mov %eax, (%edi)
        add $4, %edi
        loop 1b
        pop %edi
        pop %ecx
        ret

/* Insertion sort of ARR (unsigned). */
insertion_sort:
        pushal
        mov $1, %ecx
1:      cmp $ARR_N, %ecx
        jae 4f
        mov ARR(,%ecx,4), %eax
        mov %ecx, %edx
2:      test %edx, %edx
        jz 3f
        mov (ARR - 4)(,%edx,4), %esi
        cmp %eax, %esi
        jbe 3f
        mov %esi, ARR(,%edx,4)
        dec %edx
        jmp 2b
3:      mov %eax, ARR(,%edx,4)
        inc %ecx
        jmp 1b
4:      popal
        ret

/* EAX = sum over i of ARR[i] * (i + 1). */
array_checksum:
        push %ecx
        push %edx
        push %ebx
        xor %ebx, %ebx
        xor %ecx, %ecx
1:      mov ARR(,%ecx,4), %eax
        lea 1(%ecx), %edx
        imul %edx, %eax
        add %eax, %ebx
        inc %ecx
        cmp $ARR_N, %ecx
        jb 1b
        mov %ebx, %eax
        pop %ebx
        pop %edx
        pop %ecx
        ret

msg_crc: .asciz "bench: crc="
msg_sum: .asciz " sorted-sum="
msg_nl:  .asciz "\r\n"

        .include "reset-vector.S"
