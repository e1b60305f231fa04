/**
 * The device event scheduler: devices own `Timer`s (created once, re-armed forever, so the run
 * loop allocates nothing) and arm them for a virtual time. The machine's run loop bounds each
 * CPU slice by `nextDeadlineNs()` and calls `runDue(now)` between slices; a device model never
 * waits on the host.
 *
 * Timers live in a binary min-heap keyed by deadline, each timer remembering its heap index, so
 * schedule, reschedule and cancel are O(log n) and the next deadline is O(1).
 *
 * A hostile guest must not hang the host through a timer: `runDue` runs at most
 * `MAX_CALLBACKS_PER_RUN` callbacks per call (a timer that keeps re-arming itself in the past
 * is left due for the next call), and device models compute their next event after `now`
 * (coalescing missed periods) rather than replaying every missed one.
 */

export class SchedulerError extends Error {
  override readonly name = "SchedulerError";
}

/** Upper bound of callbacks one `runDue` call runs (guarantees the run loop regains control). */
export const MAX_CALLBACKS_PER_RUN = 10_000;

export class Timer {
  /** Virtual ns at which the callback runs; Infinity while not armed. */
  deadline = Number.POSITIVE_INFINITY;
  /** Position in the scheduler's heap; -1 while not armed. */
  heapIndex = -1;
  /** Times the callback ran, for reports. */
  fired = 0;

  constructor(
    readonly name: string,
    /** Runs with the `now` passed to `runDue` (>= deadline). The callback may re-arm its timer. */
    readonly callback: (nowNs: number) => void,
    private readonly scheduler: Scheduler,
  ) {}

  get pending(): boolean {
    return this.heapIndex >= 0;
  }

  /** Arm (or re-arm) for virtual time `atNs`; Infinity disarms. */
  schedule(atNs: number): void {
    this.scheduler.schedule(this, atNs);
  }

  cancel(): void {
    this.scheduler.cancel(this);
  }
}

export class Scheduler {
  private readonly heap: Timer[] = [];
  /** Callbacks run since construction, for reports. */
  callbacksRun = 0;
  /** `runDue` calls that stopped at MAX_CALLBACKS_PER_RUN with work still due. */
  truncatedRuns = 0;

  createTimer(name: string, callback: (nowNs: number) => void): Timer {
    return new Timer(name, callback, this);
  }

  /** The earliest armed deadline, or Infinity when nothing is armed. */
  nextDeadlineNs(): number {
    const top = this.heap[0];
    return top === undefined ? Number.POSITIVE_INFINITY : top.deadline;
  }

  get armedCount(): number {
    return this.heap.length;
  }

  schedule(timer: Timer, atNs: number): void {
    if (Number.isNaN(atNs)) throw new SchedulerError(`${timer.name}: deadline is NaN`);
    if (atNs === Number.POSITIVE_INFINITY) {
      this.cancel(timer);
      return;
    }
    const earlier = atNs < timer.deadline;
    timer.deadline = atNs;
    if (timer.heapIndex < 0) {
      timer.heapIndex = this.heap.length;
      this.heap.push(timer);
      this.siftUp(timer.heapIndex);
    } else if (earlier) {
      this.siftUp(timer.heapIndex);
    } else {
      this.siftDown(timer.heapIndex);
    }
  }

  cancel(timer: Timer): void {
    const i = timer.heapIndex;
    if (i < 0) return;
    const last = this.heap.pop()!;
    if (last !== timer) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.siftDown(i);
      this.siftUp(last.heapIndex);
    }
    timer.heapIndex = -1;
    timer.deadline = Number.POSITIVE_INFINITY;
  }

  /**
   * Run every timer whose deadline is <= `nowNs`, earliest first. Returns the number of
   * callbacks run (at most MAX_CALLBACKS_PER_RUN).
   */
  runDue(nowNs: number): number {
    let n = 0;
    while (n < MAX_CALLBACKS_PER_RUN) {
      const top = this.heap[0];
      if (top === undefined || top.deadline > nowNs) return n;
      this.cancel(top);
      top.fired++;
      this.callbacksRun++;
      n++;
      top.callback(nowNs);
    }
    if (this.nextDeadlineNs() <= nowNs) this.truncatedRuns++;
    return n;
  }

  private less(a: number, b: number): boolean {
    return this.heap[a]!.deadline < this.heap[b]!.deadline;
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    const ta = h[a]!;
    const tb = h[b]!;
    h[a] = tb;
    h[b] = ta;
    tb.heapIndex = a;
    ta.heapIndex = b;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
