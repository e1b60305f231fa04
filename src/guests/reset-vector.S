/* The reset vector: the last 16 bytes of the 64 KiB image, at F000:FFF0 (SDM Vol. 3A 9.1.4). */
        .code16
        .section .reset, "ax"
        ljmp $0xF000, $_start
        .fill 11, 1, 0xF4
