/**
 * Register map of the Intel 82540EM (PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual, "8254x SDM", section 13 "Register Descriptions", table 13-2), with the bit
 * fields the Linux `e1000` driver and this model use. Offsets are from the start of BAR0 (128 KiB).
 * Names are the datasheet's, so the per-device counters read "read:ICR", "write:TDT", ...
 */

/** Size of the memory-mapped register window (BAR0). */
export const MMIO_SIZE = 0x2_0000;
/** Size of the I/O window (BAR1): IOADDR at 0, IODATA at 4 (SDM 13.2 "I/O-mapped internal register access"). */
export const IO_SIZE = 8;
export const IOADDR = 0x00;
export const IODATA = 0x04;

// General (SDM 13.4).
export const CTRL = 0x0000;
export const STATUS = 0x0008;
export const EECD = 0x0010;
export const EERD = 0x0014;
export const CTRL_EXT = 0x0018;
export const FLA = 0x001c;
export const MDIC = 0x0020;
export const FCAL = 0x0028;
export const FCAH = 0x002c;
export const FCT = 0x0030;
export const VET = 0x0038;
export const ICR = 0x00c0;
export const ITR = 0x00c4;
export const ICS = 0x00c8;
export const IMS = 0x00d0;
export const IMC = 0x00d8;
export const RCTL = 0x0100;
export const FCTTV = 0x0170;
export const TXCW = 0x0178;
export const RXCW = 0x0180;
export const TCTL = 0x0400;
export const TCTL_EXT = 0x0404;
export const TIPG = 0x0410;
export const AIFS = 0x0458;
export const LEDCTL = 0x0e00;
export const PBA = 0x1000;
export const FCRTL = 0x2160;
export const FCRTH = 0x2168;
export const RDFH = 0x2410;
export const RDFT = 0x2418;
export const RDFHS = 0x2420;
export const RDFTS = 0x2428;
export const RDFPC = 0x2430;
export const RDBAL = 0x2800;
export const RDBAH = 0x2804;
export const RDLEN = 0x2808;
export const RDH = 0x2810;
export const RDT = 0x2818;
export const RDTR = 0x2820;
export const RXDCTL = 0x2828;
export const RADV = 0x282c;
export const RSRPD = 0x2c00;
export const TXDMAC = 0x3000;
export const TDFH = 0x3410;
export const TDFT = 0x3418;
export const TDFHS = 0x3420;
export const TDFTS = 0x3428;
export const TDFPC = 0x3430;
export const TDBAL = 0x3800;
export const TDBAH = 0x3804;
export const TDLEN = 0x3808;
export const TDH = 0x3810;
export const TDT = 0x3818;
export const TIDV = 0x3820;
export const TXDCTL = 0x3828;
export const TADV = 0x382c;
export const TSPMT = 0x3830;
export const RXCSUM = 0x5000;
export const MTA_BASE = 0x5200; // 128 dwords
export const RA_BASE = 0x5400; // 16 pairs RAL/RAH
export const VFTA_BASE = 0x5600; // 128 dwords
export const WUC = 0x5800;
export const WUFC = 0x5808;
export const WUS = 0x5810;
export const MANC = 0x5820;
export const IPAV = 0x5838;
export const IP4AT_BASE = 0x5840; // 4 entries, stride 8
export const IP6AT_BASE = 0x5880; // 4 dwords
export const WUPL = 0x5900;
export const WUPM_BASE = 0x5a00; // 32 dwords
export const FFLT_BASE = 0x5f00; // 4 entries, stride 8
export const FFMT_BASE = 0x9000; // 128 entries, stride 8
export const FFVT_BASE = 0x9800; // 128 entries, stride 8

/** Statistics registers (SDM 13.7): all clear on read; the 64-bit ones clear when the high half is read. */
export const STATS_BASE = 0x4000;
export const STATS_END = 0x4100;
export const STAT = {
  CRCERRS: 0x4000,
  ALGNERRC: 0x4004,
  SYMERRS: 0x4008,
  RXERRC: 0x400c,
  MPC: 0x4010,
  SCC: 0x4014,
  ECOL: 0x4018,
  MCC: 0x401c,
  LATECOL: 0x4020,
  COLC: 0x4028,
  DC: 0x4030,
  TNCRS: 0x4034,
  SEC: 0x4038,
  CEXTERR: 0x403c,
  RLEC: 0x4040,
  XONRXC: 0x4048,
  XONTXC: 0x404c,
  XOFFRXC: 0x4050,
  XOFFTXC: 0x4054,
  FCRUC: 0x4058,
  PRC64: 0x405c,
  PRC127: 0x4060,
  PRC255: 0x4064,
  PRC511: 0x4068,
  PRC1023: 0x406c,
  PRC1522: 0x4070,
  GPRC: 0x4074,
  BPRC: 0x4078,
  MPRC: 0x407c,
  GPTC: 0x4080,
  GORCL: 0x4088,
  GORCH: 0x408c,
  GOTCL: 0x4090,
  GOTCH: 0x4094,
  RNBC: 0x40a0,
  RUC: 0x40a4,
  RFC: 0x40a8,
  ROC: 0x40ac,
  RJC: 0x40b0,
  MGTPRC: 0x40b4,
  MGTPDC: 0x40b8,
  MGTPTC: 0x40bc,
  TORL: 0x40c0,
  TORH: 0x40c4,
  TOTL: 0x40c8,
  TOTH: 0x40cc,
  TPR: 0x40d0,
  TPT: 0x40d4,
  PTC64: 0x40d8,
  PTC127: 0x40dc,
  PTC255: 0x40e0,
  PTC511: 0x40e4,
  PTC1023: 0x40e8,
  PTC1522: 0x40ec,
  MPTC: 0x40f0,
  BPTC: 0x40f4,
  TSCTC: 0x40f8,
  TSCTFC: 0x40fc,
} as const;

/** Low halves of the 64-bit counters: reading them does not clear; reading the high half clears both. */
export const STAT_LOW_HALVES: ReadonlySet<number> = new Set([STAT.GORCL, STAT.GOTCL, STAT.TORL, STAT.TOTL]);

// CTRL (13.4.1).
export const CTRL_FD = 1 << 0;
export const CTRL_LRST = 1 << 3;
export const CTRL_ASDE = 1 << 5;
export const CTRL_SLU = 1 << 6;
export const CTRL_ILOS = 1 << 7;
export const CTRL_FRCSPD = 1 << 11;
export const CTRL_FRCDPLX = 1 << 12;
export const CTRL_RST = 1 << 26;
export const CTRL_RFCE = 1 << 27;
export const CTRL_TFCE = 1 << 28;
export const CTRL_VME = 1 << 30;
export const CTRL_PHY_RST = 1 << 31;

// STATUS (13.4.2).
export const STATUS_FD = 1 << 0;
export const STATUS_LU = 1 << 1;
export const STATUS_TXOFF = 1 << 4;
export const STATUS_SPEED_1000 = 2 << 6;
export const STATUS_ASDV_1000 = 2 << 8;

// EECD (13.4.3).
export const EECD_SK = 1 << 0;
export const EECD_CS = 1 << 1;
export const EECD_DI = 1 << 2;
export const EECD_DO = 1 << 3;
export const EECD_FWE_MASK = 3 << 4;
export const EECD_REQ = 1 << 6;
export const EECD_GNT = 1 << 7;
export const EECD_PRES = 1 << 8;
/** 0: 1 Kbit (64 words, 6 address bits), 1: 4 Kbit (256 words) for Microwire parts. */
export const EECD_SIZE = 1 << 9;

// EERD (13.4.4, 82540 layout).
export const EERD_START = 1 << 0;
export const EERD_DONE = 1 << 4;
export const EERD_ADDR_SHIFT = 8;
export const EERD_DATA_SHIFT = 16;

// MDIC (13.4.7).
export const MDIC_DATA_MASK = 0xffff;
export const MDIC_REG_SHIFT = 16;
export const MDIC_PHY_SHIFT = 21;
export const MDIC_OP_WRITE = 1 << 26;
export const MDIC_OP_READ = 2 << 26;
export const MDIC_READY = 1 << 28;
export const MDIC_INT_EN = 1 << 29;
export const MDIC_ERROR = 1 << 30;

// Interrupt causes: ICR/ICS/IMS/IMC share the layout (13.4.17-13.4.21).
export const INT_TXDW = 1 << 0;
export const INT_TXQE = 1 << 1;
export const INT_LSC = 1 << 2;
export const INT_RXSEQ = 1 << 3;
export const INT_RXDMT0 = 1 << 4;
export const INT_RXO = 1 << 6;
export const INT_RXT0 = 1 << 7;
export const INT_MDAC = 1 << 9;
export const INT_RXCFG = 1 << 10;
export const INT_TXD_LOW = 1 << 15;
export const INT_SRPD = 1 << 16;
/** Cause bits that exist on the 82540EM. */
export const INT_VALID_MASK = 0x0001_f6df;

// RCTL (13.4.22).
export const RCTL_EN = 1 << 1;
export const RCTL_SBP = 1 << 2;
export const RCTL_UPE = 1 << 3;
export const RCTL_MPE = 1 << 4;
export const RCTL_LPE = 1 << 5;
export const RCTL_LBM_MASK = 3 << 6;
export const RCTL_RDMTS_SHIFT = 8;
export const RCTL_MO_SHIFT = 12;
export const RCTL_BAM = 1 << 15;
export const RCTL_BSIZE_SHIFT = 16;
export const RCTL_VFE = 1 << 18;
export const RCTL_BSEX = 1 << 25;
export const RCTL_SECRC = 1 << 26;

// TCTL (13.4.33).
export const TCTL_EN = 1 << 1;
export const TCTL_PSP = 1 << 3;

/** RDTR / TIDV bit 31: Flush Partial Descriptor Block (fire the pending delayed interrupt now). */
export const DELAY_FPD = 1 << 31;

// RAH (13.5.3).
export const RAH_AV = 1 << 31;

// Transmit descriptor fields (SDM 3.3.3 legacy, 3.3.6 context, 3.3.7 data).
export const TXD_CMD_EOP = 0x01;
export const TXD_CMD_IFCS = 0x02;
/** Legacy: insert checksum; extended data: TCP segmentation enable. */
export const TXD_CMD_IC_TSE = 0x04;
export const TXD_CMD_RS = 0x08;
export const TXD_CMD_DEXT = 0x20;
export const TXD_CMD_VLE = 0x40;
export const TXD_CMD_IDE = 0x80;
/** Context descriptor TUCMD bits. */
export const TUCMD_TCP = 0x01;
export const TUCMD_IP = 0x02;
export const TUCMD_TSE = 0x04;
export const TXD_DTYP_CONTEXT = 0x0;
export const TXD_DTYP_DATA = 0x1;
export const TXD_POPTS_IXSM = 0x01;
export const TXD_POPTS_TXSM = 0x02;
export const TXD_STAT_DD = 0x01;

// Receive descriptor fields (SDM 3.2.3).
export const RXD_STAT_DD = 0x01;
export const RXD_STAT_EOP = 0x02;
export const RXD_STAT_IXSM = 0x04;
export const RXD_STAT_VP = 0x08;
export const RXD_ERR_RXE = 0x80;

/** Descriptor size in bytes (both rings). */
export const DESC_SIZE = 16;
/** RDLEN/TDLEN granularity: 128 bytes = 8 descriptors (13.4.27, 13.4.38). */
export const RING_LEN_ALIGN = 128;
/** RDLEN/TDLEN writable bits 19:7. */
export const RING_LEN_MASK = 0x000f_ff80;

const NAMED: Record<number, string> = {};
function name(offset: number, n: string): void {
  NAMED[offset] = n;
}
for (const [n, off] of Object.entries({
  CTRL,
  STATUS,
  EECD,
  EERD,
  CTRL_EXT,
  FLA,
  MDIC,
  FCAL,
  FCAH,
  FCT,
  VET,
  ICR,
  ITR,
  ICS,
  IMS,
  IMC,
  RCTL,
  FCTTV,
  TXCW,
  RXCW,
  TCTL,
  TCTL_EXT,
  TIPG,
  AIFS,
  LEDCTL,
  PBA,
  FCRTL,
  FCRTH,
  RDFH,
  RDFT,
  RDFHS,
  RDFTS,
  RDFPC,
  RDBAL,
  RDBAH,
  RDLEN,
  RDH,
  RDT,
  RDTR,
  RXDCTL,
  RADV,
  RSRPD,
  TXDMAC,
  TDFH,
  TDFT,
  TDFHS,
  TDFTS,
  TDFPC,
  TDBAL,
  TDBAH,
  TDLEN,
  TDH,
  TDT,
  TIDV,
  TXDCTL,
  TADV,
  TSPMT,
  RXCSUM,
  WUC,
  WUFC,
  WUS,
  MANC,
  IPAV,
  WUPL,
})) {
  name(off, n);
}
for (const [n, off] of Object.entries(STAT)) name(off, n);
for (let i = 0; i < 128; i++) {
  name(MTA_BASE + 4 * i, "MTA");
  name(VFTA_BASE + 4 * i, "VFTA");
  name(FFMT_BASE + 8 * i, "FFMT");
  name(FFVT_BASE + 8 * i, "FFVT");
}
for (let i = 0; i < 16; i++) {
  name(RA_BASE + 8 * i, "RAL");
  name(RA_BASE + 8 * i + 4, "RAH");
}
for (let i = 0; i < 4; i++) {
  name(IP4AT_BASE + 8 * i, "IP4AT");
  name(IP6AT_BASE + 4 * i, "IP6AT");
  name(FFLT_BASE + 8 * i, "FFLT");
}
for (let i = 0; i < 32; i++) name(WUPM_BASE + 4 * i, "WUPM");
// Reserved dwords inside the statistics block read 0 (and are named, not "unknown").
for (let off = STATS_BASE; off < STATS_END; off += 4)
  if (NAMED[off] === undefined) name(off, "STAT-reserved");

/** The datasheet name of the register at `offset` (dword aligned), or undefined for an unimplemented offset. */
export function registerName(offset: number): string | undefined {
  return NAMED[offset];
}

/** Per-dword counter keys, built once so that register accesses do not build strings. */
export const READ_KEYS: readonly (string | undefined)[] = buildKeys("read:");
export const WRITE_KEYS: readonly (string | undefined)[] = buildKeys("write:");

function buildKeys(prefix: string): (string | undefined)[] {
  const keys: (string | undefined)[] = new Array(MMIO_SIZE >>> 2).fill(undefined);
  for (const [off, n] of Object.entries(NAMED)) keys[Number(off) >>> 2] = prefix + n;
  return keys;
}
