/*
 * Paging (32-bit, non-PAE): page faults with their error codes and CR2 (not present, write
 * to read-only with CR0.WP = 0 and 1, user access to supervisor pages, instruction fetch,
 * a write that crosses into a not-present page), the accessed and dirty bits, INVLPG and
 * MOV CR3 after a PTE change, 4 MiB pages (CR4.PSE) and global pages (CR4.PGE). Only
 * architecturally defined outcomes are printed: never a translation that the TLB may or
 * may not still hold (SDM Vol. 3A 4.3, 4.7, 4.8, 4.10).
 */
        .include "lib.inc"
        .include "pm-common.inc"
        .set PD, 0x10000
        .set PT0, 0x11000
        .set PTE, PT0                /* PTE(addr) = PT0 + (addr >> 12) * 4 */

        .macro PAGE_READ addr
        mov \addr, %eax
        .endm

        .text
        .code16
        .globl _start
_start:
        ENTER_PM32 main32

        .code32
main32:
        PUTS32 "paging: start"
        NL32
        /* Page contents used to tell frames apart. */
        movl $0xAAAA0001, 0x204000
        movl $0xBBBB0002, 0x205000
        movl $0xCCCC0003, 0x206000
        movl $0x0F0F0F0F, 0x201000
        movl $0x07070707, 0x207000
        /* PT0: identity map 0..4 MiB, user, writable. */
        mov $PT0, %edi
        mov $0x007, %eax
        mov $1024, %ecx
1:      mov %eax, (%edi)
        add $4, %edi
        add $0x1000, %eax
        loop 1b
        movl $0, PTE + (0x200 * 4)               /* 0x200000 not present */
        movl $0x201001, PTE + (0x201 * 4)        /* read-only, supervisor */
        movl $0x202003, PTE + (0x202 * 4)        /* writable, supervisor */
        movl $0x203007, PTE + (0x203 * 4)        /* user, A/D test */
        movl $0x204007, PTE + (0x204 * 4)        /* remapped later */
        movl $0x206107, PTE + (0x206 * 4)        /* global */
        movl $0x207005, PTE + (0x207 * 4)        /* read-only, user */
        /* PD: 0 -> PT0; 1 -> 4 MiB user page at phys 8 MiB; 2 -> 4 MiB supervisor identity at 8 MiB. */
        mov $PD, %edi
        xor %eax, %eax
        mov $1024, %ecx
        rep stosl
        movl $(PT0 | 0x007), PD
        movl $0x00800087, PD + 4
        movl $0x00800083, PD + 8
        mov %cr4, %eax
        or $0x10, %eax                           /* PSE */
        mov %eax, %cr4
        mov $PD, %eax
        mov %eax, %cr3
        mov %cr0, %eax
        or $0x80000000, %eax                     /* PG, WP = 0 */
        mov %eax, %cr0
        jmp 1f
1:      PUTS32 "paging: on"
        HEX32 pde0, PD
        NL32

/* ---- supervisor faults ---- */
        SET_RESUME 1f
        mov 0x200123, %eax                       /* not present, read: err 0 */
1:      SET_RESUME 1f
        movl $1, 0x200456                        /* not present, write: err 2 */
1:      SET_RESUME 1f
        movl $0x11111111, 0x201010               /* read-only, WP = 0: allowed */
        PUTS32 "wp0 write:"
        HEX32 v, 0x201010
        NL32
        mov %cr0, %eax
        or $0x10000, %eax                        /* WP = 1 */
        mov %eax, %cr0
        movl $0x22222222, 0x201010               /* now err 3 */
1:      SET_RESUME 1f
        movl $0x33333333, 0x207010               /* user read-only page, supervisor write, WP=1: err 3 */
1:      SET_RESUME 1f
        mov $0x200000, %eax
        jmp *%eax                                /* fetch from a not-present page: err 0, EIP = CR2 */
1:      SET_RESUME 1f
        mov $0x99887766, %eax
        mov %eax, 0x1FFFFE                       /* crosses into the not-present page: err 2 */
1:
/* ---- accessed and dirty bits ---- */
        movl $0x203007, PTE + (0x203 * 4)
        invlpg 0x203000
        mov PTE + (0x203 * 4), %ebx
        mov 0x203000, %eax
        mov PTE + (0x203 * 4), %ecx
        movl $5, 0x203004
        mov PTE + (0x203 * 4), %edx
        PUTS32 "a/d:"
        HEX32 before, %ebx
        HEX32 read, %ecx
        HEX32 write, %edx
        HEX32 pde0, PD
        NL32
/* ---- INVLPG and MOV CR3 after changing a PTE ---- */
        mov 0x204000, %ebx
        movl $0x205007, PTE + (0x204 * 4)
        invlpg 0x204000
        mov 0x204000, %ecx
        movl $0x204007, PTE + (0x204 * 4)
        mov %cr3, %eax
        mov %eax, %cr3
        mov 0x204000, %edx
        PUTS32 "remap:"
        HEX32 first, %ebx
        HEX32 after_invlpg, %ecx
        HEX32 after_cr3, %edx
        NL32
/* ---- 4 MiB pages ---- */
        movl $0x12345678, 0x400010
        mov 0x800010, %ebx
        PUTS32 "pse:"
        HEX32 via_identity, %ebx
        HEX32 pde1, PD + 4
        HEX32 pde2, PD + 8
        NL32
/* ---- global pages: CR4.PGE toggling flushes them; INVLPG flushes one ---- */
        mov %cr4, %eax
        or $0x80, %eax
        mov %eax, %cr4
        mov 0x206000, %ebx
        movl $0x205107, PTE + (0x206 * 4)
        mov %cr4, %eax
        and $~0x80, %eax
        mov %eax, %cr4
        or $0x80, %eax
        mov %eax, %cr4
        mov 0x206000, %ecx
        movl $0x206107, PTE + (0x206 * 4)
        invlpg 0x206000
        mov 0x206000, %edx
        PUTS32 "global:"
        HEX32 first, %ebx
        HEX32 after_pge, %ecx
        HEX32 after_invlpg, %edx
        NL32
/* ---- user-mode faults ---- */
        SET_RESUME 1f
        TO_RING3 u_super_read, 0x3002
1:      SET_RESUME 1f
        TO_RING3 u_ro_write, 0x3002
1:      SET_RESUME 1f
        TO_RING3 u_super_ro_write, 0x3002
1:      SET_RESUME 1f
        TO_RING3 u_np_read, 0x3002
1:      SET_RESUME 1f
        TO_RING3 u_big_super, 0x3002
1:      SET_RESUME 1f
        TO_RING3 u_big_user, 0x3002
1:
        PUTS32 "paging: done"
        NL32
        EXIT32

u_super_read:
        mov 0x202000, %eax                       /* err 5 */
        jmp .
u_ro_write:
        mov 0x207000, %eax
        PUTS32 "user ro read:"
        HEX32 v, %eax
        NL32
        movl $1, 0x207000                        /* err 7 */
        jmp .
u_super_ro_write:
        movl $1, 0x201000                        /* err 7 */
        jmp .
u_np_read:
        mov 0x200008, %eax                       /* err 4 */
        jmp .
u_big_super:
        movl $1, 0x800020                        /* supervisor 4 MiB page: err 7 */
        jmp .
u_big_user:
        mov 0x400010, %eax
        PUTS32 "user 4M read:"
        HEX32 v, %eax
        NL32
        int3                                     /* DPL-0 gate from ring 3: #GP(0x1a) back to ring 0 */
        jmp .

        PM_COMMON_CODE
        LIB_CODE32
        LIB_CODE16
        PM_COMMON_DATA
        RESET_VECTOR
