/**
 * The guest side of `vmlab bench net`: the two shell commands /init runs (a receiver and a
 * sender of one TCP bulk stream, with busybox nc), the kernel command line that runs them
 * (the same for vmlab and QEMU), the MD5 the stream must have, and the parsing of what the
 * guests print.
 *
 * The protocol, the same for every engine (the host drives it over each guest's serial
 * console; `read go` reads the console, which is /init's standard input):
 *
 *   receiver                                  sender
 *   ip up; nc -l | md5sum > /tmp/md5 &        ip up; yes ... | head -c N > /tmp/stream
 *   (waits until port 5000 listens)           "vmlab-net: sent-md5 <md5 of /tmp/stream>"
 *   "vmlab-net: listening"                    ping 10.9.0.1 until it answers
 *                                             "vmlab-net: ready"
 *   host, once both lines are seen: "go" to the receiver
 *   read go; "vmlab-mark: start"
 *   host, on the receiver's start mark: "go" to the sender
 *                                             read go; "vmlab-mark: start"
 *                                             nc 10.9.0.1 5000 < /tmp/stream
 *   wait (nc has seen EOF, md5sum ended)
 *   "vmlab-mark: end"                         (nc ends once the receiver closed: all data is acknowledged)
 *   "vmlab-net: received-md5 <md5>"           "vmlab-mark: end"; "vmlab-net: nc-status N" (the last line)
 *   /init: "vmlab-exit-status: 0", reboot     sleep (the host stops it)
 *
 * The stream is generated into the sender's tmpfs before the timed window, so neither the
 * generator nor the sender's checksum is timed; the receiver's md5sum runs on the stream as it
 * arrives (it is the receiving application), inside the window. Each side prints its
 * /proc/net/dev line for eth0 just outside its window ("vmlab-net: dev ..."), which gives
 * frame counts for engines that count nothing themselves (QEMU). The receiver's nc reads a
 * FIFO opened read-write (`<>`) as its standard input: it never sees EOF there, so it never
 * half-closes the connection before the sender is done.
 */

import { createHash } from "node:crypto";
import { DEFAULT_KERNEL_ARGS, execCmdlineArg } from "../images/index.js";
import { NIC_DRIVER, type NicModel } from "../machine/nics.js";

/** A console line starting with this is a mark (vm-thread's `markPrefix`): "start" or "end". */
export const NET_MARK_PREFIX = "vmlab-mark:";
/** A console line starting with this carries a fact for the host (see parseNetInfo). */
export const NET_INFO_PREFIX = "vmlab-net:";

export const RECEIVER_IP = "10.9.0.1";
export const SENDER_IP = "10.9.0.2";
export const NET_PREFIX_LEN = 24;
export const TCP_PORT = 5000;
/** Locally administered unicast MACs (52:54:00 is QEMU's prefix, as vmlab's defaults use). */
export const RECEIVER_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x09, 0x00, 0x01);
export const SENDER_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x09, 0x00, 0x02);
/** The line busybox `yes` repeats (plus its newline) to make the stream. */
export const STREAM_LINE = "0123456789abcdef";

export type Role = "receiver" | "sender";
export const ROLES: readonly Role[] = ["receiver", "sender"];

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
}

const info = (what: string): string => `echo "${NET_INFO_PREFIX} ${what}"`;
const mark = (label: string): string => `echo "${NET_MARK_PREFIX} ${label}"`;
const devLine = info("dev $(grep eth0: /proc/net/dev)");

/** The receiver's command: listen, report, wait for "go", mark, receive, mark, report. */
export function receiverCommand(): string {
  const before = [
    `ip addr add ${RECEIVER_IP}/${NET_PREFIX_LEN} dev eth0`,
    "ip link set eth0 up",
    "mkfifo /tmp/in",
    `nc -l -p ${TCP_PORT} <>/tmp/in | md5sum >/tmp/md5`,
  ];
  const after = [
    `until netstat -ltn | grep -q ':${TCP_PORT} '; do usleep 20000; done`,
    info("listening"),
    "read go",
    devLine,
    mark("start"),
    "wait",
    mark("end"),
    devLine,
    info("received-md5 $(cat /tmp/md5)"),
  ];
  // The receiving pipeline runs in the background ("&" ends that list item instead of ";").
  return `${before.join("; ")} & ${after.join("; ")}`;
}

/** The sender's command: make the stream, checksum it, wait for the receiver, "go", send. */
export function senderCommand(bytes: number): string {
  return [
    `ip addr add ${SENDER_IP}/${NET_PREFIX_LEN} dev eth0`,
    "ip link set eth0 up",
    `yes ${STREAM_LINE} | head -c ${bytes} >/tmp/stream`,
    info("sent-md5 $(md5sum </tmp/stream)"),
    `until ping -c 1 -W 1 ${RECEIVER_IP} >/dev/null 2>&1; do :; done`,
    info("ready"),
    "read go",
    devLine,
    mark("start"),
    `nc ${RECEIVER_IP} ${TCP_PORT} </tmp/stream`,
    "s=$?",
    mark("end"),
    devLine,
    info("nc-status $s"),
    "sleep 3600",
  ].join("; ");
}

/**
 * The kernel command line for one guest: the default arguments, the NIC model's driver
 * modules and the command, in the form `vmlab run` builds (src/cli/commands/run.ts
 * loadKernel). The image's /init reads /proc/cmdline, so QEMU boots the same line.
 */
export function netGuestCmdline(model: NicModel, command: string): string {
  return `${DEFAULT_KERNEL_ARGS} vmlab.modules=${NIC_DRIVER[model]} ${execCmdlineArg(command)}`;
}

/** MD5 (hex) of the first `bytes` bytes of `yes STREAM_LINE`, the stream the sender sends. */
export function streamMd5(bytes: number): string {
  const chunk = Buffer.from(`${STREAM_LINE}\n`.repeat(4096), "latin1");
  const h = createHash("md5");
  for (let left = bytes; left > 0; left -= chunk.length) {
    h.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  }
  return h.digest("hex");
}

/** eth0's packet and byte counters from a /proc/net/dev line (the guest's view). */
export interface DevCounters {
  readonly rxBytes: number;
  readonly rxPackets: number;
  readonly txBytes: number;
  readonly txPackets: number;
}

export type NetInfo =
  | { readonly kind: "listening" | "ready" }
  | { readonly kind: "sent-md5" | "received-md5"; readonly md5: string | undefined }
  | { readonly kind: "nc-status"; readonly status: number }
  | { readonly kind: "dev"; readonly counters: DevCounters | undefined };

/** Parses a console line (carriage returns removed) that starts with NET_INFO_PREFIX; undefined otherwise. */
export function parseNetInfo(line: string): NetInfo | undefined {
  if (!line.startsWith(NET_INFO_PREFIX)) return undefined;
  const rest = line.slice(NET_INFO_PREFIX.length).trim();
  const [word, ...args] = rest.split(/\s+/);
  const arg = args.join(" ");
  switch (word) {
    case "listening":
    case "ready":
      return { kind: word };
    case "sent-md5":
    case "received-md5":
      return { kind: word, md5: /^[0-9a-f]{32}\b/.exec(arg)?.[0] };
    case "nc-status": {
      const status = Number(arg);
      return Number.isInteger(status) ? { kind: "nc-status", status } : undefined;
    }
    case "dev":
      return { kind: "dev", counters: parseDevLine(arg) };
    default:
      return undefined;
  }
}

/**
 * `eth0: rxBytes rxPackets errs drop fifo frame compressed multicast txBytes txPackets ...`
 * (Linux net/core/net-procfs.c dev_seq_printf_stats); the name may touch the first number.
 */
export function parseDevLine(line: string): DevCounters | undefined {
  const at = line.indexOf("eth0:");
  if (at < 0) return undefined;
  const f = line
    .slice(at + 5)
    .trim()
    .split(/\s+/)
    .map(Number);
  if (f.length < 10 || f.slice(0, 10).some((n) => !Number.isSafeInteger(n))) return undefined;
  return { rxBytes: f[0]!, rxPackets: f[1]!, txBytes: f[8]!, txPackets: f[9]! };
}

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "16M", "512K", "1000000", "1.5M" -> bytes (binary units; a trailing "iB" or "B" is allowed). */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (m === null) return undefined;
  const n = Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
  return Number.isSafeInteger(n) ? n : Number.isFinite(n) ? Math.round(n) : undefined;
}

/** "16 MiB", "1.5 MiB", "512 KiB", "1000 B". */
export function formatByteSize(n: number): string {
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const) {
    if (n >= size) return `${+(n / size).toFixed(2)} ${unit}`;
  }
  return `${n} B`;
}
