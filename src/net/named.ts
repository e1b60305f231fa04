/**
 * Named switches shared by vmlab processes on one machine (`vmlab run --net NAME` twice).
 *
 * Every process that uses NAME runs its own VirtualSwitch for it (its VMs attach through
 * SharedArrayBuffer rings, so traffic between VMs of one process never leaves it), and the
 * per-process switches are joined over Unix-domain stream sockets in a star: one process is
 * the hub (it listens; each remote process is a port of its switch), the others connect to it
 * with one uplink port each. A tree of learning switches needs no spanning tree.
 *
 * Election: connect to the name's socket; when nobody listens, try to listen; the kernel lets
 * exactly one listener bind the address (EADDRINUSE for the rest, who then connect). On Linux
 * the address is in the abstract namespace ("\0vmlab-net-UID-NAME", unix(7)): it disappears
 * with its last descriptor, so a crashed hub leaves no stale socket and the election has no
 * race. Elsewhere (or with `socketDir`) it is a file DIR/NAME.sock: a file nobody listens on is
 * stale and removed before listening; two processes cleaning up the same stale file at once
 * could both listen, so a hub checks every 2 s that the file is still its own and steps down
 * (re-elects) when it is not.
 *
 * Hub loss: when the hub process exits (or leaves), every client sees its uplink close and
 * re-elects after a random delay below 50 ms; one becomes the new hub and the others connect
 * to it. The switch therefore survives any process leaving, including the one that created
 * it; MAC tables re-learn and frames in flight during the change are lost (as on a real LAN
 * whose switch reboots).
 *
 * Wire format: each side first sends an 8-byte hello ("VMLN" as a little-endian u32, version
 * u16 = 1, u16 = 0), then frames as a u32 little-endian length followed by the frame. A peer
 * that sends a bad hello or a length of 0 or above ABSOLUTE_MAX_FRAME is disconnected.
 * Writes never block the switch: a link with more than 4 MiB unsent drops frames (counted as
 * txDrops on its port).
 */
import { lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ABSOLUTE_MAX_FRAME } from "./frame-ring.js";
import { type SwitchOptions, type SwitchPortDescription, VirtualSwitch } from "./switch.js";

const HELLO_MAGIC = 0x4e4c_4d56; // "VMLN"
const PROTOCOL_VERSION = 1;
const HELLO_BYTES = 8;
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
const OUT_CHUNK_BYTES = 64 * 1024;

export class NamedSwitchError extends Error {
  override readonly name = "NamedSwitchError";
}

export interface NamedSwitchOptions extends SwitchOptions {
  /** Use a socket file in this directory instead of the Linux abstract namespace. */
  socketDir?: string;
}

/** A port of a named switch, for a VM in this process (post `description` to its worker). */
export interface PortHandle {
  readonly name: string;
  /** Post this to the VM's worker: `new SwitchPortBackend(description)` there. */
  readonly description: SwitchPortDescription;
  /** This process's switch for the name (stats, capture). */
  readonly switch: VirtualSwitch;
  /** The port's id on `switch`. */
  readonly portId: number;
  /** "hub" or "client": this process's current role (changes on fail-over). */
  role(): "hub" | "client" | "electing";
  /** Removes the port; the process leaves the named network when its last port closes. */
  close(): void;
}

/** The socket address for a switch name. */
export function namedSwitchAddress(name: string, socketDir?: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new NamedSwitchError(
      `switch name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got ${JSON.stringify(name)}`,
    );
  }
  const uid = process.getuid?.() ?? 0;
  if (socketDir === undefined && process.platform === "linux") return `\0vmlab-net-${uid}-${name}`;
  const dir = socketDir ?? join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), `vmlab-net-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${name}.sock`);
}

const nodes = new Map<string, NamedSwitchNode>();

/**
 * Joins (creating if needed) the switch called `name` shared by all vmlab processes of this
 * user on this machine, and adds a port for one VM. Call on the thread that owns the switch
 * (normally the main thread); the returned description goes to the VM's worker.
 */
export async function joinNamedSwitch(name: string, options: NamedSwitchOptions = {}): Promise<PortHandle> {
  const address = namedSwitchAddress(name, options.socketDir);
  let node = nodes.get(address);
  if (node === undefined) {
    node = new NamedSwitchNode(name, address, options);
    nodes.set(address, node);
  }
  try {
    await node.ready;
  } catch (e) {
    if (node.refs === 0) {
      node.shutdown();
      nodes.delete(address);
    }
    throw e;
  }
  const { id, description } = node.sw.addRingPort(`vm${node.refs}`);
  node.refs++;
  const n = node;
  let closed = false;
  return {
    name,
    description,
    switch: n.sw,
    portId: id,
    role: () => n.role,
    close: () => {
      if (closed) return;
      closed = true;
      n.sw.removePort(id);
      if (--n.refs === 0) {
        n.shutdown();
        nodes.delete(address);
      }
    },
  };
}

/** One link (a socket) between two processes' switches: a sink port on the local switch. */
class Link {
  readonly portId: number;
  private helloSeen = false;
  private readonly hdr = new Uint8Array(4);
  private hdrHave = 0;
  private frameLen = -1;
  private readonly frame = new Uint8Array(ABSOLUTE_MAX_FRAME);
  private frameHave = 0;
  private out: Buffer = Buffer.allocUnsafe(OUT_CHUNK_BYTES);
  private outUsed = 0;
  private flushScheduled = false;
  closed = false;

  constructor(
    private readonly sw: VirtualSwitch,
    readonly socket: Socket,
    name: string,
    private readonly onClose: (link: Link) => void,
  ) {
    this.portId = sw.attach((f) => this.sendFrame(f), name);
    socket.setNoDelay(true);
    const hello = Buffer.alloc(HELLO_BYTES);
    hello.writeUInt32LE(HELLO_MAGIC, 0);
    hello.writeUInt16LE(PROTOCOL_VERSION, 4);
    socket.write(hello);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => {
      // 'close' follows; the error itself (peer vanished) needs no report.
    });
    socket.on("close", () => this.close());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sw.removePort(this.portId);
    this.socket.destroy();
    this.onClose(this);
  }

  private sendFrame(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const need = 4 + frame.length;
    if (this.socket.writableLength + this.outUsed + need > MAX_UNSENT_BYTES) return false;
    if (this.outUsed + need > this.out.length) {
      this.flush();
      if (need > this.out.length) this.out = Buffer.allocUnsafe(need);
    }
    this.out.writeUInt32LE(frame.length, this.outUsed);
    this.out.set(frame, this.outUsed + 4);
    this.outUsed += need;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    return true;
  }

  /** Hands the batched records to the socket (one write per event-loop turn, not per frame). */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.outUsed === 0 || this.closed) return;
    // The socket keeps the buffer until written, so the next batch gets a fresh one.
    this.socket.write(this.out.subarray(0, this.outUsed));
    this.out = Buffer.allocUnsafe(OUT_CHUNK_BYTES);
    this.outUsed = 0;
  };

  private receive(chunk: Buffer): void {
    let off = 0;
    if (!this.helloSeen) {
      // Accumulate the hello in the header scratch (it may arrive split).
      while (off < chunk.length && this.frameHave < HELLO_BYTES) this.frame[this.frameHave++] = chunk[off++]!;
      if (this.frameHave < HELLO_BYTES) return;
      const dv = new DataView(this.frame.buffer, 0, HELLO_BYTES);
      if (dv.getUint32(0, true) !== HELLO_MAGIC || dv.getUint16(4, true) !== PROTOCOL_VERSION) {
        this.close();
        return;
      }
      this.helloSeen = true;
      this.frameHave = 0;
    }
    while (off < chunk.length && !this.closed) {
      if (this.frameLen < 0) {
        // Fast path: a whole record inside the chunk goes to the switch without copying.
        if (this.hdrHave === 0 && chunk.length - off >= 4) {
          const len = chunk.readUInt32LE(off);
          if (len === 0 || len > ABSOLUTE_MAX_FRAME) {
            this.close();
            return;
          }
          if (chunk.length - off - 4 >= len) {
            this.sw.input(this.portId, chunk.subarray(off + 4, off + 4 + len));
            off += 4 + len;
            continue;
          }
          this.frameLen = len;
          off += 4;
        } else {
          this.hdr[this.hdrHave++] = chunk[off++]!;
          if (this.hdrHave < 4) continue;
          this.hdrHave = 0;
          const len =
            (this.hdr[0]! | (this.hdr[1]! << 8) | (this.hdr[2]! << 16) | (this.hdr[3]! << 24)) >>> 0;
          if (len === 0 || len > ABSOLUTE_MAX_FRAME) {
            this.close();
            return;
          }
          this.frameLen = len;
        }
        this.frameHave = 0;
      }
      const take = Math.min(this.frameLen - this.frameHave, chunk.length - off);
      this.frame.set(chunk.subarray(off, off + take), this.frameHave);
      this.frameHave += take;
      off += take;
      if (this.frameHave === this.frameLen) {
        this.sw.input(this.portId, this.frame.subarray(0, this.frameLen));
        this.frameLen = -1;
        this.frameHave = 0;
      }
    }
  }
}

class NamedSwitchNode {
  readonly sw: VirtualSwitch;
  refs = 0;
  role: "hub" | "client" | "electing" = "electing";
  ready: Promise<void>;
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private uplink: Link | undefined;
  private stopped = false;
  private ownerCheck: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly name: string,
    private readonly address: string,
    options: SwitchOptions,
  ) {
    this.sw = new VirtualSwitch(options);
    this.sw.start();
    this.ready = this.elect();
  }

  private async elect(): Promise<void> {
    this.role = "electing";
    const isFile = !this.address.startsWith("\0");
    for (let attempt = 0; attempt < 50 && !this.stopped; attempt++) {
      const sock = await tryConnect(this.address);
      if (this.stopped) {
        sock?.destroy();
        return;
      }
      if (sock !== undefined) {
        this.becomeClient(sock);
        return;
      }
      if (isFile) removeIfStale(this.address);
      const server = await tryListen(this.address);
      if (this.stopped) {
        server?.close();
        return;
      }
      if (server !== undefined) {
        this.becomeHub(server, isFile);
        return;
      }
      await sleep(5 + Math.random() * 20);
    }
    if (!this.stopped) throw new NamedSwitchError(`could not join or host the switch "${this.name}"`);
  }

  private becomeClient(sock: Socket): void {
    this.role = "client";
    this.uplink = new Link(this.sw, sock, "uplink", (link) => {
      if (this.uplink === link) this.uplink = undefined;
      this.reelect();
    });
  }

  private becomeHub(server: Server, isFile: boolean): void {
    this.role = "hub";
    this.server = server;
    server.on("connection", (sock) => {
      if (this.stopped) {
        sock.destroy();
        return;
      }
      const link = new Link(this.sw, sock, `peer${this.links.size}`, (l) => this.links.delete(l));
      this.links.add(link);
    });
    server.on("error", () => this.stepDown());
    if (isFile) {
      let ino: number | undefined;
      try {
        ino = lstatSync(this.address).ino;
      } catch {
        ino = undefined;
      }
      this.ownerCheck = setInterval(() => {
        let now: number | undefined;
        try {
          now = lstatSync(this.address).ino;
        } catch {
          now = undefined;
        }
        if (now !== ino) this.stepDown();
      }, 2000);
      this.ownerCheck.unref();
    }
  }

  /** Stops hosting (another process owns the name now) and re-elects. */
  private stepDown(): void {
    if (this.role !== "hub") return;
    this.dropHub();
    this.reelect();
  }

  private dropHub(): void {
    if (this.ownerCheck !== undefined) clearInterval(this.ownerCheck);
    this.ownerCheck = undefined;
    this.server?.close();
    this.server = undefined;
    for (const l of [...this.links]) l.close();
    this.links.clear();
  }

  private reelect(): void {
    if (this.stopped) return;
    this.role = "electing";
    setTimeout(() => {
      if (this.stopped) return;
      this.ready = this.elect();
      this.ready.catch(() => {
        // Stays local-only; a later fail-over of another process may find this one again.
      });
    }, Math.random() * 50);
  }

  shutdown(): void {
    this.stopped = true;
    this.dropHub();
    this.uplink?.close();
    this.uplink = undefined;
    this.sw.stop();
  }
}

function tryConnect(address: string): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path: address });
    const onError = (e: NodeJS.ErrnoException) => {
      sock.destroy();
      if (e.code === "ECONNREFUSED" || e.code === "ENOENT" || e.code === "ECONNRESET") resolve(undefined);
      else reject(new NamedSwitchError(`cannot connect to switch socket: ${e.message}`));
    };
    sock.once("error", onError);
    sock.once("connect", () => {
      sock.off("error", onError);
      resolve(sock);
    });
  });
}

function tryListen(address: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const onError = (e: NodeJS.ErrnoException) => {
      server.close();
      if (e.code === "EADDRINUSE") resolve(undefined);
      else reject(new NamedSwitchError(`cannot listen on switch socket: ${e.message}`));
    };
    server.once("error", onError);
    server.listen({ path: address }, () => {
      server.off("error", onError);
      resolve(server);
    });
  });
}

/** Removes a socket file nobody listens on (a crashed hub's), when it is a socket or plain file. */
function removeIfStale(path: string): void {
  try {
    const st = lstatSync(path);
    if (st.isSocket() || st.isFile()) unlinkSync(path);
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
