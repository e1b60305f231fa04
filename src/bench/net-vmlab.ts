/**
 * The vmlab side of `vmlab bench net`: one VirtualSwitch on this (the main) thread with a ring
 * port for each of two VMs, each VM on its own worker thread (src/machine/vm-thread.ts) with
 * one NIC of the model under test, in real time mode. The worker takes a snapshot of the
 * VM's counters (instructions, exits by reason, interrupts, the port's frame counters) when
 * its guest prints a mark line, so the figures cover exactly the window between the marks.
 */

import { startVmThread, type VmThread, type VmThreadResult } from "../machine/vm-thread.js";
import { PcapWriter, type PortStats, VirtualSwitch } from "../net/index.js";
import {
  NET_MARK_PREFIX,
  netGuestCmdline,
  RECEIVER_MAC,
  ROLES,
  type Role,
  receiverCommand,
  SENDER_MAC,
  senderCommand,
} from "./net-guest.js";
import type { NetPairConfig } from "./net-qemu.js";
import { NetPairSession, type SessionOutcome } from "./net-session.js";

export interface VmlabPairConfig extends NetPairConfig {
  /** Capture the receiver's switch port (both directions) to this pcap file. */
  readonly pcapPath?: string;
}

export interface VmlabPairResult {
  readonly outcome: SessionOutcome;
  readonly session: NetPairSession;
  readonly cmdlines: Record<Role, string>;
  /** Each VM's final result, or the error that ended its thread, or undefined if it did not stop in time. */
  readonly results: Record<Role, VmThreadResult | Error | undefined>;
  /** The switch's view of each port at the end (frames the switch received from / sent to the VM). */
  readonly switchPorts: Record<Role, PortStats>;
}

/** Host time granted to a VM to stop after it was asked to. */
const STOP_GRACE_MS = 15_000;

/** Runs one transfer between two vmlab VMs. */
export async function runVmlabPair(c: VmlabPairConfig, log: (msg: string) => void): Promise<VmlabPairResult> {
  const sw = new VirtualSwitch();
  const ports = { receiver: sw.addRingPort("receiver"), sender: sw.addRingPort("sender") };
  const pcap = c.pcapPath !== undefined ? new PcapWriter(c.pcapPath) : undefined;
  if (pcap !== undefined) sw.capture(ports.receiver.id, pcap);
  sw.start();
  const cmdlines = {
    receiver: netGuestCmdline(c.model, receiverCommand()),
    sender: netGuestCmdline(c.model, senderCommand(c.bytes)),
  };
  const threads: Partial<Record<Role, VmThread>> = {};
  const results: Record<Role, VmThreadResult | Error | undefined> = {
    receiver: undefined,
    sender: undefined,
  };
  const session = new NetPairSession({
    label: c.label,
    setupTimeoutMs: c.setupTimeoutMs,
    transferTimeoutMs: c.transferTimeoutMs,
    marksFromConsole: false,
    send: (role, text) => threads[role]?.sendSerial(new TextEncoder().encode(text)),
    log,
  });
  const stopped: Promise<void>[] = [];
  try {
    for (const role of ROLES) {
      const vm = startVmThread({
        kernelPath: c.kernel,
        initrdPath: c.initrd,
        cmdline: cmdlines[role],
        entry: "vmlinux",
        memoryMiB: c.memoryMiB,
        time: "real",
        nics: [
          {
            model: c.model,
            mac: role === "receiver" ? RECEIVER_MAC : SENDER_MAC,
            mitigation: c.mitigation,
            port: ports[role].description,
          },
        ],
        disks: [],
        markPrefix: NET_MARK_PREFIX,
        interactive: true,
        // A backstop only: the session ends the pair long before this.
        timeoutMs: c.setupTimeoutMs + c.transferTimeoutMs + 300_000,
      });
      threads[role] = vm;
      vm.onSerial((bytes) => session.feed(role, bytes));
      vm.onMark((snap) => session.mark(role, snap.label, snap.hostMs, snap));
      stopped.push(
        vm.done.then(
          (r) => {
            results[role] = r;
            session.ended(role, `VM stopped: ${r.result.reason}`);
          },
          (e: unknown) => {
            const err = e instanceof Error ? e : new Error(String(e));
            results[role] = err;
            session.ended(role, `VM error: ${err.name}: ${err.message}`);
          },
        ),
      );
    }
    const outcome = await session.finished;
    return {
      outcome,
      session,
      cmdlines,
      results,
      switchPorts: {
        receiver: { ...sw.portStats(ports.receiver.id) },
        sender: { ...sw.portStats(ports.sender.id) },
      },
    };
  } finally {
    for (const vm of Object.values(threads)) vm.stop();
    const all = Promise.all(stopped).then(() => true);
    const inTime = await Promise.race([
      all,
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref()),
    ]);
    if (!inTime) log(`${c.label}: a VM did not stop within ${STOP_GRACE_MS / 1000} s of being asked`);
    sw.stop();
    pcap?.close();
  }
}
