/**
 * Per-device accounting (issue: "exits and events counted by device and cause"): every
 * device model owns one DeviceStats and counts what the guest made it do, by cause, with
 * names a reader recognises from the datasheet:
 *   "read:ICR", "write:TDT"         register accesses by register name
 *   "kick:tx", "kick:rx"            doorbells / queue notifications
 *   "irq:raised", "irq:lowered"     interrupt line transitions the device caused
 *   "dma:read-bytes", "dma:write-bytes", "tx:frames", "rx:frames", "rx:dropped"
 *   "error:<what>"                  guest errors the device detected (malformed rings ...)
 * `--stats` prints these next to the exit table.
 */
export class DeviceStats {
  private readonly counters = new Map<string, number>();

  constructor(readonly device: string) {}

  /** Add `n` (default 1) to a counter. */
  count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** Counters sorted by name. */
  entries(): [string, number][] {
    return [...this.counters.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  reset(): void {
    this.counters.clear();
  }
}
