/**
 * An interrupt line: a device raises and lowers it; the interrupt controller listens.
 * Level semantics (a line stays asserted until lowered); edge-triggered controllers act on
 * the low-to-high transition. The line knows nothing about the CPU.
 */
export class InterruptLine {
  private level = false;
  /** Times the line went from low to high: the "interrupts raised" figure in reports. */
  raisedCount = 0;
  private listener: ((level: boolean) => void) | undefined;

  constructor(readonly name: string) {}

  connect(listener: (level: boolean) => void): void {
    this.listener = listener;
  }

  get asserted(): boolean {
    return this.level;
  }

  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    if (level) this.raisedCount++;
    this.listener?.(level);
  }

  raise(): void {
    this.set(true);
  }

  lower(): void {
    this.set(false);
  }

  /** An edge: raise then lower (for devices that signal a pulse). */
  pulse(): void {
    this.set(true);
    this.set(false);
  }
}
