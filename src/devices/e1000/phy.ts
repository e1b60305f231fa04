/**
 * The 82540EM's internal copper PHY, register-compatible with the Marvell 88E1011 (the Linux
 * driver matches PHY ID 0141_0C20h, M88E1011_I_PHY_ID, e1000_detect_gig_phy), at MDIO address 1,
 * reached through MDIC (8254x SDM 13.4.7, PHY registers in 13.4.7 tables and the IEEE 802.3
 * clause 22 MII set):
 *
 *   0 BMCR      reset (bit 15) and restart-autoneg (bit 9) self-clear at once; power down (11)
 *   1 BMSR      link status (2) and autoneg complete (5) follow the link
 *   2/3 ID      0141h / 0C20h
 *   4 ANAR, 9 1000BASE-T control: storage (the driver writes its advertisement)
 *   5 ANLPAR    a 1000/100/10 full/half partner with symmetric and asymmetric pause
 *   10 1000BASE-T status: partner 1000 FD/HD, local and remote receivers OK, 0 idle errors
 *   15 extended status: 1000BASE-T FD/HD capable
 *   16 PSCR, 20 extended PSCR, 29/30 page address/data: storage
 *   17 PSSR     1000 Mb/s, full duplex, speed/duplex resolved, real-time link
 *   21 receive error counter: 0
 * Autonegotiation completes instantly: the link partner is the virtual switch.
 */

export const PHY_ADDRESS = 1;
export const PHY_ID1 = 0x0141;
export const PHY_ID2 = 0x0c20;

export const MII_BMCR = 0;
export const MII_BMSR = 1;
export const MII_PHYID1 = 2;
export const MII_PHYID2 = 3;
export const MII_ANAR = 4;
export const MII_ANLPAR = 5;
export const MII_ANER = 6;
export const MII_1000T_CTRL = 9;
export const MII_1000T_STATUS = 10;
export const MII_EXT_STATUS = 15;
export const M88_PSCR = 16;
export const M88_PSSR = 17;
export const M88_EXT_PSCR = 20;
export const M88_RX_ERR_CNTR = 21;

export const BMCR_RESET = 0x8000;
export const BMCR_POWER_DOWN = 0x0800;
export const BMCR_RESTART_AN = 0x0200;
export const BMSR_LINK = 0x0004;
export const BMSR_AN_COMPLETE = 0x0020;

const BMCR_DEFAULT = 0x1140; // autoneg enable, full duplex, speed 1000 (bits 6 and 13 = 10b)
/** 100BASE-TX FD/HD, 10BASE-T FD/HD, extended status, preamble suppression, autoneg ability, extended capability. */
const BMSR_BASE = 0x7949;

export class M88Phy {
  private readonly regs = new Uint16Array(32);
  /** Cable plugged in (the host side's view). */
  private cable = true;

  constructor() {
    this.reset();
  }

  /** Power-on / PHY_RST / BMCR.RESET defaults. */
  reset(): void {
    this.regs.fill(0);
    this.regs[MII_BMCR] = BMCR_DEFAULT;
    this.regs[MII_ANAR] = 0x0de1; // pause, asym pause, 100/10 FD/HD, selector 802.3
    this.regs[MII_1000T_CTRL] = 0x0300; // advertise 1000 FD/HD
    this.regs[M88_PSCR] = 0x0068;
    this.regs[M88_EXT_PSCR] = 0x0c60;
  }

  /** Link as the PHY reports it: cable present and not powered down. */
  get linkUp(): boolean {
    return this.cable && (this.regs[MII_BMCR]! & BMCR_POWER_DOWN) === 0;
  }

  setCable(connected: boolean): void {
    this.cable = connected;
  }

  read(reg: number): number {
    const link = this.linkUp;
    switch (reg) {
      case MII_BMSR:
        return BMSR_BASE | (link ? BMSR_LINK | BMSR_AN_COMPLETE : 0);
      case MII_PHYID1:
        return PHY_ID1;
      case MII_PHYID2:
        return PHY_ID2;
      case MII_ANLPAR:
        return link ? 0xcde1 : 0; // ack, next page, pause + asym pause, 100/10 FD/HD
      case MII_ANER:
        return link ? 0x0001 : 0; // partner autoneg able
      case MII_1000T_STATUS:
        return link ? 0x3c00 : 0;
      case MII_EXT_STATUS:
        return 0x3000;
      case M88_PSSR:
        // 1000 Mb/s (15:14 = 10b), full duplex (13), resolved (11), link (10).
        return link ? 0xac00 : 0;
      case M88_RX_ERR_CNTR:
        return 0;
      default:
        return this.regs[reg & 31]!;
    }
  }

  write(reg: number, value: number): void {
    value &= 0xffff;
    switch (reg) {
      case MII_BMCR:
        // A software reset (bit 15) keeps the configuration registers (they take effect on it,
        // 88E1011 datasheet, register 0) and completes at once, like an autoneg restart (bit 9).
        this.regs[MII_BMCR] = value & ~(BMCR_RESET | BMCR_RESTART_AN);
        return;
      case MII_BMSR:
      case MII_PHYID1:
      case MII_PHYID2:
      case MII_ANLPAR:
      case MII_ANER:
      case MII_1000T_STATUS:
      case MII_EXT_STATUS:
      case M88_PSSR:
      case M88_RX_ERR_CNTR:
        return; // read-only
      default:
        this.regs[reg & 31] = value;
    }
  }
}
