/**
 * Drives one transfer of `vmlab bench net` between a receiver and a sender guest, the same
 * way for every engine: it reads both consoles, sends "go" to each guest at its turn (see the
 * protocol in net-guest.ts), records the marks, and decides when the transfer is complete or
 * has failed (a guest stopped early, a kernel panic, or a phase that ran out of time). The
 * engine (net-vmlab.ts, net-qemu.ts) feeds it console bytes, marks and ends, and stops the
 * guests when `finished` resolves.
 */

import type { VmSnapshot } from "../machine/vm-thread.js";
import { ConsoleWatch, INIT_STARTED_LINE } from "./console-watch.js";
import {
  type DevCounters,
  NET_MARK_PREFIX,
  parseNetInfo,
  RECEIVER_IP,
  ROLES,
  type Role,
} from "./net-guest.js";

/** Host milliseconds comparable across threads (as VmSnapshot.hostMs). */
export const hostNowMs = (): number => performance.timeOrigin + performance.now();

export type MarkLabel = "start" | "end";

export interface MarkHit {
  /** Host time of the mark: the worker's when it saw the line (vmlab), the line's arrival on the pipe (QEMU). */
  readonly hostMs: number;
  /** The VM's counters at the mark (vmlab only). */
  readonly snapshot?: VmSnapshot;
}

const MAX_LINE = 4096;

/** What one guest printed that the benchmark needs, and when. */
export class GuestConsole {
  /** Tail, exit status, panic and fault lines (the boot benchmark's watcher). */
  readonly watch = new ConsoleWatch(INIT_STARTED_LINE);
  /** Host ms of "/init started", "listening" (receiver) and "ready" (sender). */
  initMs: number | undefined;
  listeningMs: number | undefined;
  readyMs: number | undefined;
  sentMd5: string | undefined;
  receivedMd5: string | undefined;
  ncStatus: number | undefined;
  /** eth0's /proc/net/dev counters: [before the start mark, after the end mark]. */
  readonly devs: (DevCounters | undefined)[] = [];
  readonly marks: Partial<Record<MarkLabel, MarkHit>> = {};
  /** How the guest's VM (or process) stopped, once it has. */
  ended: string | undefined;
  private partial = "";

  /** Feeds console bytes; calls `onLine` for each complete line (carriage returns removed). */
  feed(bytes: Uint8Array | string, seconds: number, onLine: (line: string) => void): void {
    const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1");
    this.watch.feed(text, seconds);
    for (const ch of text) {
      if (ch === "\n") {
        const line = this.partial.replace(/\r/g, "");
        this.partial = "";
        onLine(line);
      } else if (this.partial.length < MAX_LINE) {
        this.partial += ch;
      }
    }
  }
}

export interface SessionOptions {
  /** Progress prefix, e.g. "e1000 vmlab". */
  readonly label: string;
  /** From the start until both guests are ready (boot, module load, making the stream, first ping). */
  readonly setupTimeoutMs: number;
  /** From the sender's start mark until the receiver's end mark. */
  readonly transferTimeoutMs: number;
  /** Take marks from console lines (QEMU); otherwise the engine calls `mark` (vmlab snapshots). */
  readonly marksFromConsole: boolean;
  /** Console input for a guest. */
  readonly send: (role: Role, text: string) => void;
  readonly log: (msg: string) => void;
}

export type SessionOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Once the receiver listens and the sender has its stream: time for the first ping reply. */
const PING_TIMEOUT_MS = 120_000;
/** After the receiver's end mark: time for the rest of both consoles (md5 lines, sender's end mark). */
const WIND_DOWN_MS = 60_000;

export class NetPairSession {
  readonly startMs = hostNowMs();
  readonly consoles: Record<Role, GuestConsole> = {
    receiver: new GuestConsole(),
    sender: new GuestConsole(),
  };
  readonly finished: Promise<SessionOutcome>;
  private resolve!: (o: SessionOutcome) => void;
  private outcome: SessionOutcome | undefined;
  private timer: NodeJS.Timeout | undefined;
  private phase: "setup" | "go" | "transfer" | "wind-down" = "setup";
  private sentSenderGo = false;
  private pingArmed = false;

  constructor(private readonly opts: SessionOptions) {
    this.finished = new Promise((resolve) => {
      this.resolve = resolve;
    });
    this.arm(opts.setupTimeoutMs, () => `not ready after ${opts.setupTimeoutMs / 1000} s: ${this.stage()}`);
  }

  get done(): boolean {
    return this.outcome !== undefined;
  }

  /** Console output of a guest that arrived at host time `hostMs`. */
  feed(role: Role, bytes: Uint8Array | string, hostMs = hostNowMs()): void {
    const c = this.consoles[role];
    c.feed(bytes, (hostMs - this.startMs) / 1000, (line) => this.line(role, c, line, hostMs));
    this.check();
  }

  /** A mark (vmlab: the worker's snapshot). */
  mark(role: Role, label: string, hostMs: number, snapshot?: VmSnapshot): void {
    if (label !== "start" && label !== "end") return;
    const c = this.consoles[role];
    c.marks[label] ??= snapshot !== undefined ? { hostMs, snapshot } : { hostMs };
    this.check();
  }

  /** The guest's VM or process stopped (`how`: its stop cause, exit status or error). */
  ended(role: Role, how: string): void {
    this.consoles[role].ended ??= how;
    this.check();
  }

  /** Ends the session as failed (an engine error). */
  fail(reason: string): void {
    this.finish({ ok: false, reason });
  }

  private line(role: Role, c: GuestConsole, line: string, hostMs: number): void {
    if (c.initMs === undefined && line.includes(INIT_STARTED_LINE)) {
      c.initMs = hostMs;
      this.opts.log(`${this.opts.label}: ${role} reached /init (${this.since(hostMs)})`);
    }
    if (this.opts.marksFromConsole && line.startsWith(NET_MARK_PREFIX)) {
      this.mark(role, line.slice(NET_MARK_PREFIX.length).trim(), hostMs);
      return;
    }
    const info = parseNetInfo(line);
    if (info === undefined) return;
    switch (info.kind) {
      case "listening":
        c.listeningMs ??= hostMs;
        break;
      case "ready":
        c.readyMs ??= hostMs;
        break;
      case "sent-md5":
        c.sentMd5 ??= info.md5 ?? "(unreadable)";
        break;
      case "received-md5":
        c.receivedMd5 ??= info.md5 ?? "(unreadable)";
        break;
      case "nc-status":
        c.ncStatus ??= info.status;
        break;
      case "dev":
        c.devs.push(info.counters);
        break;
    }
  }

  private check(): void {
    if (this.outcome !== undefined) return;
    const r = this.consoles.receiver;
    const s = this.consoles.sender;
    for (const role of ROLES) {
      const panic = this.consoles[role].watch.hits.panic;
      if (panic !== undefined) {
        this.fail(`${role}: ${panic.line}`);
        return;
      }
    }
    if (
      this.phase === "setup" &&
      !this.pingArmed &&
      r.listeningMs !== undefined &&
      s.sentMd5 !== undefined &&
      s.readyMs === undefined
    ) {
      // Both are up and the sender pings once a second: a link that works answers within seconds.
      this.pingArmed = true;
      const left = this.opts.setupTimeoutMs - (hostNowMs() - this.startMs);
      if (left > PING_TIMEOUT_MS) {
        this.arm(PING_TIMEOUT_MS, () => `no ping reply within ${PING_TIMEOUT_MS / 1000} s: ${this.stage()}`);
      }
    }
    if (this.phase === "setup" && r.listeningMs !== undefined && s.readyMs !== undefined) {
      this.phase = "go";
      this.opts.log(`${this.opts.label}: both guests ready (${this.since()}); starting the transfer`);
      this.opts.send("receiver", "go\n");
      // The two "go" round trips take milliseconds; a minute means a guest stopped reading its console.
      this.arm(60_000, () => `no start mark after "go": ${this.stage()}`);
    }
    if (this.phase === "go" && r.marks.start !== undefined && !this.sentSenderGo) {
      this.sentSenderGo = true;
      this.opts.send("sender", "go\n");
    }
    if (this.phase === "go" && s.marks.start !== undefined) {
      this.phase = "transfer";
      this.arm(
        this.opts.transferTimeoutMs,
        () => `transfer not finished after ${this.opts.transferTimeoutMs / 1000} s: ${this.stage()}`,
      );
    }
    if (this.phase === "transfer" && r.marks.end !== undefined) {
      this.phase = "wind-down";
      const seconds = (r.marks.end.hostMs - s.marks.start!.hostMs) / 1000;
      this.opts.log(`${this.opts.label}: receiver done after ${seconds.toFixed(2)} s of transfer`);
      this.arm(WIND_DOWN_MS, () => `after the receiver's end mark: ${this.stage()}`);
    }
    const receiverDone =
      r.marks.end !== undefined &&
      r.receivedMd5 !== undefined &&
      (r.watch.exitStatus !== undefined || r.ended !== undefined);
    const senderDone = s.marks.end !== undefined && s.ncStatus !== undefined;
    if (receiverDone && senderDone) this.finish({ ok: true });
    else if (r.ended !== undefined && !receiverDone)
      this.fail(`receiver stopped (${r.ended}): ${this.stage()}`);
    else if (s.ended !== undefined && !senderDone) this.fail(`sender stopped (${s.ended}): ${this.stage()}`);
  }

  /** What the pair was waiting for, for a failure report. */
  stage(): string {
    const r = this.consoles.receiver;
    const s = this.consoles.sender;
    const waiting: string[] = [];
    if (r.listeningMs === undefined) {
      waiting.push(
        r.initMs === undefined ? "receiver has not reached /init" : "receiver's nc is not listening",
      );
    }
    if (s.readyMs === undefined) {
      waiting.push(
        s.initMs === undefined
          ? "sender has not reached /init"
          : s.sentMd5 === undefined
            ? "sender is still making the stream"
            : `sender gets no ping reply from ${RECEIVER_IP}`,
      );
    }
    if (waiting.length > 0) return waiting.join("; ");
    if (r.marks.start === undefined) return "receiver has not answered 'go'";
    if (s.marks.start === undefined) return "sender has not answered 'go'";
    if (r.marks.end === undefined) return "receiver has not seen the end of the stream";
    if (r.receivedMd5 === undefined) return "receiver has not printed its md5";
    if (s.marks.end === undefined) return "sender's nc has not ended";
    if (s.ncStatus === undefined) return "sender has not printed nc's status";
    return "receiver has not finished its command";
  }

  private since(hostMs = hostNowMs()): string {
    return `${((hostMs - this.startMs) / 1000).toFixed(1)} s`;
  }

  private arm(ms: number, why: () => string): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(why()), ms);
  }

  private finish(o: SessionOutcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = o;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.resolve(o);
  }
}
