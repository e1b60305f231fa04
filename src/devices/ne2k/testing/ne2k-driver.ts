/**
 * A driver-side mock of the NE2000 (STYLE.md practice 8): programs a device at an I/O base
 * the way Linux's `ne2k-pci` + `8390` modules do (drivers/net/ethernet/8390/ne2k-pci.c,
 * lib8390.c), one port access at a time, so tests exercise the exact sequences the guest
 * will issue: probe (8390 check, reset, PROM read), NS8390_init, block output/input through
 * the data port with 32-bit `outsl`/`insl` (the RTL8029 has no ONLY_16BIT_IO flag), the
 * interrupt handler and ei_receive's ring walk.
 */

/** Port I/O as the guest sees it (a `Bus` satisfies this). */
export interface PortIo {
  read(address: number, width: 1 | 2 | 4): number;
  write(address: number, width: 1 | 2 | 4, value: number): void;
}

// lib8390.h / 8390.h names.
const E8390_CMD = 0x00;
const E8390_STOP = 0x01;
const E8390_START = 0x02;
const E8390_TRANS = 0x04;
const E8390_RREAD = 0x08;
const E8390_RWRITE = 0x10;
const E8390_NODMA = 0x20;
const E8390_PAGE0 = 0x00;
const E8390_PAGE1 = 0x40;
const EN0_STARTPG = 0x01;
const EN0_STOPPG = 0x02;
const EN0_BOUNDARY = 0x03;
const EN0_TSR = 0x04;
const EN0_TPSR = 0x04;
const EN0_TCNTLO = 0x05;
const EN0_TCNTHI = 0x06;
const EN0_ISR = 0x07;
const EN0_RSARLO = 0x08;
const EN0_RSARHI = 0x09;
const EN0_RCNTLO = 0x0a;
const EN0_RCNTHI = 0x0b;
const EN0_RXCR = 0x0c;
const EN0_TXCR = 0x0d;
const EN0_COUNTER0 = 0x0d;
const EN0_DCFG = 0x0e;
const EN0_IMR = 0x0f;
const EN1_CURPAG = 0x07;
const EN1_MULT = 0x08;
const ENISR_RX = 0x01;
const ENISR_TX = 0x02;
const ENISR_RX_ERR = 0x04;
const ENISR_TX_ERR = 0x08;
const ENISR_OVER = 0x10;
const ENISR_COUNTERS = 0x20;
const ENISR_RDC = 0x40;
const ENISR_RESET = 0x80;
const ENISR_ALL = 0x3f;
const E8390_RXOFF = 0x20;
const E8390_TXOFF = 0x02;
const E8390_RXCONFIG = 0x04; // accept broadcast
const E8390_TXCONFIG = 0x00;
const NE_DATAPORT = 0x10;
const NE_RESET = 0x1f;
const NESM_START_PG = 0x40;
const NESM_STOP_PG = 0x80;
const TX_PAGES = 12;
const ETH_ZLEN = 60;

export class Ne2kDriverError extends Error {
  override readonly name = "Ne2kDriverError";
}

export interface Ne2kDriverStats {
  rxErrors: number;
  rxOverruns: number;
  txErrors: number;
  interrupts: number;
}

export class Ne2kDriver {
  readonly txStartPage = NESM_START_PG;
  readonly rxStartPage = NESM_START_PG + TX_PAGES;
  readonly stopPage = NESM_STOP_PG;
  /** The next page ei_receive will read (driver's copy of CURR). */
  currentPage = NESM_START_PG + TX_PAGES;
  mac = new Uint8Array(6);
  /** Which of the two 6-page transmit buffers is next (lib8390 tx1/tx2). */
  private txBuffer = 0;
  /** Extra receive configuration bits (PRO 0x10, AM 0x08) on top of AB. */
  rxConfig = E8390_RXCONFIG;
  readonly stats: Ne2kDriverStats = { rxErrors: 0, rxOverruns: 0, txErrors: 0, interrupts: 0 };

  constructor(
    private readonly io: PortIo,
    readonly base: number,
  ) {}

  private inb(reg: number): number {
    return this.io.read(this.base + reg, 1);
  }
  private outb(value: number, reg: number): void {
    this.io.write(this.base + reg, 1, value & 0xff);
  }

  /** ne2k_pci_init_one: the 8390 check, reset, PROM read and NS8390_init(dev, 0). Returns the MAC. */
  probe(): Uint8Array {
    const reg0 = this.inb(0);
    if (reg0 === 0xff) throw new Ne2kDriverError("no device (reg0 = 0xff)");
    this.outb(E8390_NODMA + E8390_PAGE1 + E8390_STOP, E8390_CMD);
    const regd = this.inb(0x0d);
    this.outb(0xff, 0x0d);
    this.outb(E8390_NODMA + E8390_PAGE0, E8390_CMD);
    this.inb(EN0_COUNTER0); // clear the counter by reading
    if (this.inb(EN0_COUNTER0) !== 0) {
      this.outb(reg0, 0);
      this.outb(regd, 0x0d);
      throw new Ne2kDriverError("not an 8390 (CNTR0 not cleared by reading)");
    }
    this.reset8390();
    this.outb(0xff, EN0_ISR);
    const seq: [number, number][] = [
      [E8390_NODMA + E8390_PAGE0 + E8390_STOP, E8390_CMD],
      [0x49, EN0_DCFG],
      [0x00, EN0_RCNTLO],
      [0x00, EN0_RCNTHI],
      [0x00, EN0_IMR],
      [0xff, EN0_ISR],
      [E8390_RXOFF, EN0_RXCR],
      [E8390_TXOFF, EN0_TXCR],
      [32, EN0_RCNTLO],
      [0x00, EN0_RCNTHI],
      [0x00, EN0_RSARLO],
      [0x00, EN0_RSARHI],
      [E8390_RREAD + E8390_START, E8390_CMD],
    ];
    for (const [v, r] of seq) this.outb(v, r);
    const prom = new Uint8Array(32);
    for (let i = 0; i < 32; i++) prom[i] = this.inb(NE_DATAPORT);
    this.outb(0x49, EN0_DCFG);
    this.mac = prom.slice(0, 6);
    this.init(false);
    return this.mac;
  }

  /** ne2k_pci_reset_8390. */
  reset8390(): void {
    this.outb(this.inb(NE_RESET), NE_RESET);
    for (let i = 0; (this.inb(EN0_ISR) & ENISR_RESET) === 0; i++) {
      if (i > 100) throw new Ne2kDriverError("reset did not complete");
    }
    this.outb(ENISR_RESET, EN0_ISR);
  }

  /** __NS8390_init(dev, startp). */
  init(start: boolean): void {
    this.outb(E8390_NODMA + E8390_PAGE0 + E8390_STOP, E8390_CMD);
    this.outb(0x49, EN0_DCFG);
    this.outb(0x00, EN0_RCNTLO);
    this.outb(0x00, EN0_RCNTHI);
    this.outb(E8390_RXOFF, EN0_RXCR);
    this.outb(E8390_TXOFF, EN0_TXCR);
    this.outb(this.txStartPage, EN0_TPSR);
    this.outb(this.rxStartPage, EN0_STARTPG);
    this.outb(this.stopPage - 1, EN0_BOUNDARY);
    this.currentPage = this.rxStartPage;
    this.outb(this.stopPage, EN0_STOPPG);
    this.outb(0xff, EN0_ISR);
    this.outb(0x00, EN0_IMR);
    this.outb(E8390_NODMA + E8390_PAGE1 + E8390_STOP, E8390_CMD);
    for (let i = 0; i < 6; i++) {
      this.outb(this.mac[i]!, 1 + i);
      if (this.inb(1 + i) !== this.mac[i]) throw new Ne2kDriverError(`PAR${i} mismatch`);
    }
    this.outb(this.rxStartPage, EN1_CURPAG);
    this.outb(E8390_NODMA + E8390_PAGE0 + E8390_STOP, E8390_CMD);
    this.txBuffer = 0;
    if (start) {
      this.outb(0xff, EN0_ISR);
      this.outb(ENISR_ALL, EN0_IMR);
      this.outb(E8390_NODMA + E8390_PAGE0 + E8390_START, E8390_CMD);
      this.outb(E8390_TXCONFIG, EN0_TXCR);
      this.outb(this.rxConfig, EN0_RXCR);
    }
  }

  /** ei_open. */
  open(): void {
    this.init(true);
  }

  /** Load MAR0-7 (do_set_multicast_list with a filter already computed). */
  setMulticastFilter(mar: Uint8Array): void {
    this.outb(E8390_NODMA + E8390_PAGE1, E8390_CMD);
    for (let i = 0; i < 8; i++) this.outb(mar[i]!, EN1_MULT + i);
    this.outb(E8390_NODMA + E8390_PAGE0, E8390_CMD);
    this.outb(this.rxConfig, EN0_RXCR);
  }

  /** ei_start_xmit: block_output into the next transmit buffer, then NS8390_trigger_send. */
  transmit(frame: Uint8Array): void {
    const sendLength = Math.max(frame.length, ETH_ZLEN);
    let data = frame;
    if (frame.length < ETH_ZLEN) {
      data = new Uint8Array(ETH_ZLEN);
      data.set(frame);
    }
    this.outb(0x00, EN0_IMR); // mask interrupts from the card while we touch it
    const page = this.txStartPage + (this.txBuffer === 0 ? 0 : TX_PAGES / 2);
    this.txBuffer ^= 1;
    this.blockOutput(data, page);
    // NS8390_trigger_send.
    this.outb(E8390_NODMA + E8390_PAGE0, E8390_CMD);
    if ((this.inb(E8390_CMD) & E8390_TRANS) !== 0) throw new Ne2kDriverError("transmitter busy");
    this.outb(sendLength & 0xff, EN0_TCNTLO);
    this.outb(sendLength >> 8, EN0_TCNTHI);
    this.outb(page, EN0_TPSR);
    this.outb(E8390_NODMA + E8390_TRANS + E8390_START, E8390_CMD);
    this.outb(ENISR_ALL, EN0_IMR);
  }

  /** ne2k_pci_block_output (RTL8029: outsl, then one outw for the 2-byte tail). */
  blockOutput(buf: Uint8Array, startPage: number): void {
    let count = buf.length;
    if (count & 1) count++;
    const padded = new Uint8Array(count + 4);
    padded.set(buf);
    const view = new DataView(padded.buffer);
    this.outb(E8390_PAGE0 + E8390_START + E8390_NODMA, E8390_CMD);
    this.outb(ENISR_RDC, EN0_ISR);
    this.outb(count & 0xff, EN0_RCNTLO);
    this.outb(count >> 8, EN0_RCNTHI);
    this.outb(0x00, EN0_RSARLO);
    this.outb(startPage, EN0_RSARHI);
    this.outb(E8390_RWRITE + E8390_START, E8390_CMD);
    const dwords = count >> 2;
    for (let i = 0; i < dwords; i++) this.io.write(this.base + NE_DATAPORT, 4, view.getUint32(4 * i, true));
    if (count & 2) this.io.write(this.base + NE_DATAPORT, 2, view.getUint16(4 * dwords, true));
    for (let i = 0; (this.inb(EN0_ISR) & ENISR_RDC) === 0; i++) {
      if (i > 10) throw new Ne2kDriverError("timeout waiting for Tx RDC");
    }
    this.outb(ENISR_RDC, EN0_ISR);
  }

  /** ne2k_pci_get_8390_hdr: one inl at the start of a ring page. */
  getHeader(ringPage: number): { status: number; next: number; count: number } {
    this.outb(E8390_NODMA + E8390_PAGE0 + E8390_START, E8390_CMD);
    this.outb(4, EN0_RCNTLO);
    this.outb(0, EN0_RCNTHI);
    this.outb(0, EN0_RSARLO);
    this.outb(ringPage, EN0_RSARHI);
    this.outb(E8390_RREAD + E8390_START, E8390_CMD);
    const v = this.io.read(this.base + NE_DATAPORT, 4);
    this.outb(ENISR_RDC, EN0_ISR);
    return { status: v & 0xff, next: (v >>> 8) & 0xff, count: v >>> 16 };
  }

  /** ne2k_pci_block_input: insl, then inw / inb for the tail. */
  blockInput(count: number, ringOffset: number): Uint8Array {
    const out = new Uint8Array(count + 4);
    const view = new DataView(out.buffer);
    this.outb(E8390_NODMA + E8390_PAGE0 + E8390_START, E8390_CMD);
    this.outb(count & 0xff, EN0_RCNTLO);
    this.outb(count >> 8, EN0_RCNTHI);
    this.outb(ringOffset & 0xff, EN0_RSARLO);
    this.outb(ringOffset >> 8, EN0_RSARHI);
    this.outb(E8390_RREAD + E8390_START, E8390_CMD);
    const dwords = count >> 2;
    for (let i = 0; i < dwords; i++) view.setUint32(4 * i, this.io.read(this.base + NE_DATAPORT, 4), true);
    let pos = 4 * dwords;
    if (count & 2) {
      view.setUint16(pos, this.io.read(this.base + NE_DATAPORT, 2), true);
      pos += 2;
    }
    if (count & 1) out[pos] = this.io.read(this.base + NE_DATAPORT, 1);
    this.outb(ENISR_RDC, EN0_ISR);
    return out.slice(0, count);
  }

  /** ei_receive: walk the ring from BNRY + 1 to CURR, returning the good frames. */
  receive(): Uint8Array[] {
    const frames: Uint8Array[] = [];
    const numRxPages = this.stopPage - this.rxStartPage;
    for (let guard = 0; guard < 10; guard++) {
      this.outb(E8390_NODMA + E8390_PAGE1, E8390_CMD);
      const rxingPage = this.inb(EN1_CURPAG);
      this.outb(E8390_NODMA + E8390_PAGE0, E8390_CMD);
      let thisFrame = this.inb(EN0_BOUNDARY) + 1;
      if (thisFrame >= this.stopPage) thisFrame = this.rxStartPage;
      if (thisFrame === rxingPage) break;
      const hdr = this.getHeader(thisFrame);
      const pktLen = hdr.count - 4;
      let nextFrame = thisFrame + 1 + ((pktLen + 4) >> 8);
      if (
        hdr.next !== nextFrame &&
        hdr.next !== nextFrame + 1 &&
        hdr.next !== nextFrame - numRxPages &&
        hdr.next !== nextFrame + 1 - numRxPages
      ) {
        this.currentPage = rxingPage;
        this.outb(this.currentPage - 1, EN0_BOUNDARY);
        this.stats.rxErrors++;
        continue;
      }
      if (pktLen < 60 || pktLen > 1518) {
        this.stats.rxErrors++;
      } else if ((hdr.status & 0x0f) === 0x01) {
        frames.push(this.blockInput(pktLen, (thisFrame << 8) + 4));
      } else {
        this.stats.rxErrors++;
      }
      nextFrame = hdr.next;
      if (nextFrame >= this.stopPage) nextFrame = this.rxStartPage;
      this.currentPage = nextFrame;
      this.outb(nextFrame - 1, EN0_BOUNDARY);
    }
    this.outb(ENISR_RX + ENISR_RX_ERR, EN0_ISR);
    return frames;
  }

  /** ei_rx_overrun: stop, clear RBCR, loopback, restart, drain the ring, ack OVW. */
  rxOverrun(): Uint8Array[] {
    this.stats.rxOverruns++;
    this.outb(E8390_NODMA + E8390_PAGE0 + E8390_STOP, E8390_CMD);
    this.outb(0x00, EN0_RCNTLO);
    this.outb(0x00, EN0_RCNTHI);
    this.outb(E8390_TXOFF, EN0_TXCR);
    this.outb(E8390_NODMA + E8390_PAGE0 + E8390_START, E8390_CMD);
    const frames = this.receive();
    this.outb(ENISR_OVER, EN0_ISR);
    this.outb(E8390_TXCONFIG, EN0_TXCR);
    return frames;
  }

  /** ei_interrupt: service until ISR reads 0. Returns the frames received. */
  interrupt(): Uint8Array[] {
    this.stats.interrupts++;
    const frames: Uint8Array[] = [];
    this.outb(E8390_NODMA + E8390_PAGE0, E8390_CMD);
    let serviced = 0;
    for (;;) {
      const isr = this.inb(EN0_ISR);
      if (isr === 0 || ++serviced >= 12) break;
      if (isr & ENISR_OVER) frames.push(...this.rxOverrun());
      else if (isr & (ENISR_RX + ENISR_RX_ERR)) frames.push(...this.receive());
      if (isr & ENISR_TX) {
        this.outb(ENISR_TX, EN0_ISR);
        this.inb(EN0_TSR);
      } else if (isr & ENISR_TX_ERR) {
        this.stats.txErrors++;
        this.outb(ENISR_TX_ERR, EN0_ISR);
      }
      if (isr & ENISR_COUNTERS) {
        this.inb(0x0d);
        this.inb(0x0e);
        this.inb(0x0f);
        this.outb(ENISR_COUNTERS, EN0_ISR);
      }
      if (isr & ENISR_RDC) this.outb(ENISR_RDC, EN0_ISR);
      this.outb(E8390_NODMA + E8390_PAGE0 + E8390_START, E8390_CMD);
    }
    if (serviced >= 12) throw new Ne2kDriverError("too much work at interrupt");
    return frames;
  }
}
