/**
 * The 82540EM's serial EEPROM: a 1 Kbit Microwire part (93C46 class, 64 x 16-bit words), read by
 * the Linux driver by bit-banging EECD (8254x SDM 5.3 "EEPROM Interface", 13.4.3 "EEPROM/Flash
 * Control/Data Register"): request access (EECD.REQ, wait for GNT), raise CS, shift out the
 * 3-bit READ opcode 110b (start bit + 10b) and 6 address bits MSB first on rising SK edges (DI),
 * then shift 16 data bits in from DO, one per rising edge. After the last address bit the part
 * drives a dummy 0; each following rising edge presents the next data bit (D15 first); clocking
 * on past D0 reads the next word (sequential read). Dropping CS ends the command.
 * Writes and erases (opcodes 01b, 11b, 00b) are accepted and ignored: the image is read-only.
 *
 * The image follows the SDM's EEPROM map (5.6, table 5-2) for the fields Linux reads: words 0-2
 * the Ethernet address (little-endian byte pairs), word 4 the ID LED settings (FFFFh = default),
 * 0Ah Initialization Control Word 1, 0Bh-0Eh subsystem ID, subsystem vendor ID, device ID,
 * vendor ID, 0Fh Initialization Control Word 2 (PAUSE/ASM_DIR bits 13:12 select flow control),
 * 24h Initialization Control Word 3 (APM wake disabled), and word 3Fh the checksum: the sum of
 * words 00h-3Fh is BABAh (Linux e1000_validate_eeprom_checksum).
 */

import {
  EECD_CS,
  EECD_DI,
  EECD_DO,
  EECD_FWE_MASK,
  EECD_GNT,
  EECD_PRES,
  EECD_REQ,
  EECD_SK,
  EERD_ADDR_SHIFT,
  EERD_DATA_SHIFT,
  EERD_DONE,
  EERD_START,
} from "./registers.js";

export const EEPROM_WORDS = 64;
export const EEPROM_ADDRESS_BITS = 6;
export const EEPROM_CHECKSUM_WORD = 0x3f;
export const EEPROM_SUM = 0xbaba;

export interface EepromIds {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly subsystemVendorId: number;
  readonly subsystemId: number;
}

/** Build the 64-word image for `mac` with a valid checksum. */
export function buildEepromImage(mac: Uint8Array, ids: EepromIds): Uint16Array {
  const w = new Uint16Array(EEPROM_WORDS);
  for (let i = 0; i < 3; i++) w[i] = mac[2 * i]! | (mac[2 * i + 1]! << 8);
  w[0x04] = 0xffff; // ID LED settings: use the default
  w[0x0a] = 0x4003; // ICW1: signature 01b (15:14), load subsystem IDs (1) and vendor/device IDs (0)
  w[0x0b] = ids.subsystemId & 0xffff;
  w[0x0c] = ids.subsystemVendorId & 0xffff;
  w[0x0d] = ids.deviceId & 0xffff;
  w[0x0e] = ids.vendorId & 0xffff;
  w[0x0f] = 0x7000; // ICW2: signature 01b, PAUSE and ASM_DIR advertised (full flow control)
  w[0x24] = 0x0000; // ICW3 port A: no APM wake
  let sum = 0;
  for (let i = 0; i < EEPROM_CHECKSUM_WORD; i++) sum += w[i]!;
  w[EEPROM_CHECKSUM_WORD] = (EEPROM_SUM - sum) & 0xffff;
  return w;
}

type Phase = "idle" | "opcode" | "address" | "read" | "ignore";

/** EECD bit-bang state machine plus EERD (the register-based read of later parts, also decoded here). */
export class MicrowireEeprom {
  /** Software-writable EECD bits (SK, CS, DI, FWE, REQ). */
  private eecd = 0;
  private phase: Phase = "idle";
  private bits = 0;
  private shift = 0;
  private opcode = 0;
  private address = 0;
  /** Data bit being presented on DO during a read: 16 = dummy 0, 15..0 = data. */
  private outBit = 16;
  private eerd = 0;
  /** Completed word reads through bit-banging and EERD, for reports and tests. */
  wordsRead = 0;
  /** Write/erase commands ignored (read-only image). */
  writesIgnored = 0;

  constructor(readonly words: Uint16Array) {}

  reset(): void {
    this.eecd = 0;
    this.phase = "idle";
    this.bits = 0;
    this.eerd = 0;
  }

  readEecd(): number {
    let v = this.eecd | EECD_PRES; // EEPROM present; SIZE = 0: 64 words, 6 address bits
    if ((this.eecd & EECD_REQ) !== 0) v |= EECD_GNT; // access granted at once: no other master
    if (this.phase === "read" && this.dataOut()) v |= EECD_DO;
    return v >>> 0;
  }

  writeEecd(value: number): void {
    const old = this.eecd;
    this.eecd = value & (EECD_SK | EECD_CS | EECD_DI | EECD_FWE_MASK | EECD_REQ);
    // Pins act only while software owns the interface (REQ granted), as on the 82540 (SDM 5.3.1).
    if ((this.eecd & EECD_REQ) === 0) {
      this.phase = "idle";
      return;
    }
    if ((this.eecd & EECD_CS) === 0) {
      this.phase = "idle"; // deselect ends any command
      return;
    }
    const rising = (old & EECD_SK) === 0 && (this.eecd & EECD_SK) !== 0;
    if (!rising) return;
    const di = (this.eecd & EECD_DI) !== 0 ? 1 : 0;
    switch (this.phase) {
      case "idle":
        // Leading zeros are ignored; a 1 is the start bit.
        if (di === 1) {
          this.phase = "opcode";
          this.bits = 0;
          this.shift = 0;
        }
        return;
      case "opcode":
        this.shift = (this.shift << 1) | di;
        if (++this.bits === 2) {
          this.opcode = this.shift;
          this.phase = "address";
          this.bits = 0;
          this.shift = 0;
        }
        return;
      case "address":
        this.shift = (this.shift << 1) | di;
        if (++this.bits === EEPROM_ADDRESS_BITS) {
          this.address = this.shift;
          if (this.opcode === 0b10) {
            this.phase = "read";
            this.outBit = 16; // dummy 0 until the next rising edge
          } else {
            this.writesIgnored++;
            this.phase = "ignore";
          }
        }
        return;
      case "read":
        if (this.outBit === 0) {
          // Sequential read: the next word's D15 follows D0 (93C46 datasheets).
          this.wordsRead++;
          this.address = (this.address + 1) % EEPROM_WORDS;
          this.outBit = 15;
        } else {
          this.outBit--;
          if (this.outBit === 0) this.wordsRead++;
        }
        return;
      case "ignore":
        return;
    }
  }

  private dataOut(): boolean {
    if (this.outBit > 15) return false;
    return ((this.words[this.address % EEPROM_WORDS]! >> this.outBit) & 1) !== 0;
  }

  readEerd(): number {
    return this.eerd >>> 0;
  }

  /** EERD: writing START with an address completes at once with DONE and the data (SDM 13.4.4). */
  writeEerd(value: number): void {
    if ((value & EERD_START) === 0) {
      this.eerd = value & 0xff00;
      return;
    }
    const addr = (value >>> EERD_ADDR_SHIFT) & 0xff;
    const data = addr < EEPROM_WORDS ? this.words[addr]! : 0xffff;
    this.wordsRead++;
    this.eerd = ((data << EERD_DATA_SHIFT) | (addr << EERD_ADDR_SHIFT) | EERD_DONE) >>> 0;
  }
}
