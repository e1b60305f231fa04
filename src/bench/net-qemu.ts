/**
 * The QEMU reference of `vmlab bench net`: two qemu-system-i386 TCG guests (the boot
 * benchmark's machine, qemu.ts) booting the same kernel, initramfs and command lines as the
 * vmlab pair, with the same NIC model each, joined by `-netdev socket` over 127.0.0.1 (the
 * receiver listens, the sender connects). Marks are timed on the host when their line arrives
 * on QEMU's stdout pipe. Every QEMU process is killed on every way out: the end of the pair,
 * a timeout, an error, and (through killAllQemu, which net-bench.ts calls on SIGINT/SIGTERM
 * and at exit) Ctrl-C.
 */

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createServer } from "node:net";
import type { NicModel } from "../machine/nics.js";
import {
  formatMac,
  netGuestCmdline,
  RECEIVER_MAC,
  type Role,
  receiverCommand,
  SENDER_MAC,
  senderCommand,
} from "./net-guest.js";
import { hostNowMs, NetPairSession, type SessionOutcome } from "./net-session.js";
import { QEMU_BINARY, qemuBootArgs } from "./qemu.js";

/** QEMU's device for each vmlab NIC model (the same chips: 82540EM, RTL8029, Am79C970A). */
export const QEMU_NIC_DEVICE: Record<NicModel, string> = {
  "virtio-net": "virtio-net-pci",
  e1000: "e1000",
  ne2k: "ne2k_pci",
  pcnet: "pcnet",
};

export interface NetPairConfig {
  readonly model: NicModel;
  readonly bytes: number;
  readonly kernel: string;
  readonly initrd: string;
  readonly memoryMiB: number;
  /** e1000 interrupt mitigation (QEMU's e1000 `mitigation` property, on by default there too). */
  readonly mitigation: boolean;
  readonly setupTimeoutMs: number;
  readonly transferTimeoutMs: number;
  /** Progress prefix, e.g. "e1000 qemu". */
  readonly label: string;
}

export interface QemuPairResult {
  readonly outcome: SessionOutcome;
  readonly session: NetPairSession;
  readonly args: Record<Role, readonly string[]>;
  /** The last lines QEMU itself printed on stderr, per guest. */
  readonly stderr: Record<Role, string>;
}

/** The arguments of one guest of the pair. */
export function qemuNetArgs(c: NetPairConfig, role: Role, port: number): string[] {
  const command = role === "receiver" ? receiverCommand() : senderCommand(c.bytes);
  const netdev =
    role === "receiver" ? `socket,id=n0,listen=127.0.0.1:${port}` : `socket,id=n0,connect=127.0.0.1:${port}`;
  const mac = formatMac(role === "receiver" ? RECEIVER_MAC : SENDER_MAC);
  const extra = c.model === "e1000" && !c.mitigation ? ",mitigation=off" : "";
  return [
    ...qemuBootArgs({
      kernel: c.kernel,
      initrd: c.initrd,
      cmdline: netGuestCmdline(c.model, command),
      memoryMiB: c.memoryMiB,
    }),
    "-netdev",
    netdev,
    "-device",
    `${QEMU_NIC_DEVICE[c.model]},netdev=n0,mac=${mac}${extra}`,
  ];
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === "object") resolve(addr.port);
        else reject(new Error("no port from the kernel"));
      });
    });
  });
}

const live = new Set<ChildProcessWithoutNullStreams>();

/** Kills every QEMU this module started that is still running (Ctrl-C, process exit). */
export function killAllQemu(): void {
  for (const c of live) c.kill("SIGKILL");
  live.clear();
}

/** How long the receiver's QEMU may take to print anything (its socket listens by then). */
const FIRST_OUTPUT_MS = 30_000;
const STDERR_KEEP = 2000;

/** Runs one transfer between two QEMU guests. */
export async function runQemuPair(
  c: NetPairConfig,
  log: (msg: string) => void,
  binary = QEMU_BINARY,
): Promise<QemuPairResult> {
  const port = await freeLocalPort();
  const children: Partial<Record<Role, ChildProcessWithoutNullStreams>> = {};
  const closed: Promise<void>[] = [];
  const stderr: Record<Role, string> = { receiver: "", sender: "" };
  const args = { receiver: qemuNetArgs(c, "receiver", port), sender: qemuNetArgs(c, "sender", port) };
  const session = new NetPairSession({
    label: c.label,
    setupTimeoutMs: c.setupTimeoutMs,
    transferTimeoutMs: c.transferTimeoutMs,
    marksFromConsole: true,
    send: (role, text) => {
      const child = children[role];
      if (child !== undefined && child.exitCode === null) child.stdin.write(text);
    },
    log,
  });

  const start = (role: Role): ChildProcessWithoutNullStreams => {
    const child = spawn(binary, args[role], { stdio: ["pipe", "pipe", "pipe"] });
    live.add(child);
    children[role] = child;
    child.stdin.on("error", () => {}); // EPIPE after QEMU ended: its end is reported below
    child.stdout.on("data", (chunk: Buffer) => session.feed(role, chunk, hostNowMs()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr[role] = (stderr[role] + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    closed.push(
      new Promise((resolve) => {
        child.on("error", (e) => {
          session.ended(role, `qemu not started: ${e.message}`);
          resolve();
        });
        child.on("close", (code, signal) => {
          live.delete(child);
          const last = stderr[role].trim().split("\n").at(-1) ?? "";
          const how = signal !== null ? `qemu killed by ${signal}` : `qemu exit ${code}`;
          session.ended(role, last !== "" ? `${how}: ${last}` : how);
          resolve();
        });
      }),
    );
    return child;
  };

  try {
    // The receiver's socket listens once QEMU has set its devices up, before the guest prints.
    const receiver = start("receiver");
    const first = await Promise.race([
      new Promise<boolean>((resolve) => receiver.stdout.once("data", () => resolve(true))),
      session.finished.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), FIRST_OUTPUT_MS).unref()),
    ]);
    if (!first)
      session.fail(`the receiver's QEMU printed nothing: ${session.consoles.receiver.ended ?? "timeout"}`);
    else start("sender");
    const outcome = await session.finished;
    return { outcome, session, args, stderr };
  } finally {
    for (const child of Object.values(children)) if (child.exitCode === null) child.kill("SIGKILL");
    await Promise.all(closed);
  }
}
