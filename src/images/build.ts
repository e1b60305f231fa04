/**
 * `vmlab image build`: the guest image — Debian's i386 686 kernel and an initramfs with
 * busybox, the NIC / virtio modules and vmlab's /init — fetched, built and cached outside
 * the repository ($VMLAB_CACHE, else $XDG_CACHE_HOME/vmlab/images, else
 * ~/.cache/vmlab/images). Rebuilt only when an input changes (package versions, driver
 * list, /init, builder version) or with `force`.
 */

import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parseBzImage, protocolString } from "../boot/bzimage.js";
import { buildCpio, type CpioEntry } from "./cpio.js";
import {
  checkTools,
  debFileName,
  download,
  ensureI386,
  extract,
  type PackageVersion,
  resolveKernelPackage,
  resolvePackage,
} from "./debian.js";
import { ImageBuildError } from "./errors.js";
import { INIT_SCRIPT } from "./init-script.js";
import { buildModulesDep, type ModuleSet, resolveModules, stripModuleSignature } from "./modules.js";

/** Drivers for every NIC and virtio device vmlab models (shared/CONTEXT.md, "The guest"). */
export const DEFAULT_DRIVERS: readonly string[] = [
  "e1000",
  "ne2k_pci",
  "pcnet32",
  "8139cp",
  "8139too",
  "virtio_pci",
  "virtio_net",
  "virtio_blk",
];

/** Bump when the initramfs layout changes so that caches rebuild. */
export const BUILDER_VERSION = 2;

export interface ImageManifest {
  readonly builderVersion: number;
  /** Hash of every input; the cache is valid while it matches. */
  readonly key: string;
  readonly kernelPackage: string;
  readonly kernelPackageVersion: string;
  /** `uname -r` of the guest, e.g. "6.1.0-50-686". */
  readonly kernelRelease: string;
  /** The bzImage's own version string. */
  readonly kernelVersionString: string;
  readonly bootProtocol: string;
  readonly busyboxVersion: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly initrdBytes: number;
  readonly drivers: readonly string[];
  readonly modules: readonly {
    readonly name: string;
    readonly path: string;
    readonly depends: readonly string[];
  }[];
  readonly builtAt: string;
}

export interface BuildOptions {
  readonly cacheDir?: string;
  readonly force?: boolean;
  /** Override the kernel package (default: what linux-image-686:i386 depends on). */
  readonly kernelPackage?: string;
  readonly drivers?: readonly string[];
  /** Progress messages (default: stderr). */
  readonly log?: (msg: string) => void;
}

export function defaultCacheDir(): string {
  const env = process.env.VMLAB_CACHE;
  if (env !== undefined && env !== "") return env;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".cache"), "vmlab", "images");
}

const MANIFEST = "manifest.json";

export function readManifest(dir = defaultCacheDir()): ImageManifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as ImageManifest;
    return typeof m.kernel === "string" && typeof m.initrd === "string" ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The cached image for `vmlab run` without --kernel, if one has been built and its files exist. */
export function defaultImage(
  dir = defaultCacheDir(),
): { kernel: string; initrd: string; version: string } | undefined {
  const m = readManifest(dir);
  if (m === undefined || !existsSync(m.kernel) || !existsSync(m.initrd)) return undefined;
  return { kernel: m.kernel, initrd: m.initrd, version: m.kernelRelease };
}

const defaultLog = (msg: string): void => {
  process.stderr.write(`vmlab image: ${msg}\n`);
};

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export async function buildImage(opts: BuildOptions = {}): Promise<ImageManifest> {
  const log = opts.log ?? defaultLog;
  const dir = opts.cacheDir ?? defaultCacheDir();
  const drivers = opts.drivers ?? DEFAULT_DRIVERS;
  checkTools();
  ensureI386(log);
  log("looking up package versions (apt-cache)");
  const kpkg = resolveKernelPackage(opts.kernelPackage, log);
  const bpkg = resolvePackage("busybox-static", log);
  log(`kernel ${kpkg.name} ${kpkg.version}, busybox-static ${bpkg.version}`);
  const key = createHash("sha256")
    .update(JSON.stringify([BUILDER_VERSION, kpkg, bpkg, drivers, INIT_SCRIPT]))
    .digest("hex")
    .slice(0, 16);
  const old = readManifest(dir);
  if (!opts.force && old?.key === key && existsSync(old.kernel) && existsSync(old.initrd)) {
    log(`up to date in ${dir} (use --force to rebuild)`);
    return old;
  }

  const debs = join(dir, "debs");
  mkdirSync(debs, { recursive: true });
  const fetch = (p: PackageVersion): string => {
    const file = join(debs, debFileName(p));
    if (existsSync(file) && !opts.force) {
      log(`using cached ${debFileName(p)}`);
    } else {
      log(`downloading ${p.name}:${p.arch} ${p.version} (apt-get download)`);
      download(p, debs);
      if (!existsSync(file)) throw new ImageBuildError(`apt-get download did not produce ${file}`);
    }
    return file;
  };
  const kdeb = fetch(kpkg);
  const bdeb = fetch(bpkg);

  const work = mkdtempSync(join(dir, "build-"));
  try {
    log(`unpacking ${debFileName(kpkg)} (dpkg-deb -x)`);
    extract(kdeb, join(work, "kernel"));
    log(`unpacking ${debFileName(bpkg)} (dpkg-deb -x)`);
    extract(bdeb, join(work, "busybox"));

    const bootDir = join(work, "kernel", "boot");
    const vmlinuzName = existsSync(bootDir)
      ? readdirSync(bootDir).find((f) => f.startsWith("vmlinuz-"))
      : undefined;
    if (vmlinuzName === undefined) throw new ImageBuildError(`${kpkg.name} contains no boot/vmlinuz-*`);
    const release = vmlinuzName.slice("vmlinuz-".length);
    const kernelBytes = new Uint8Array(readFileSync(join(bootDir, vmlinuzName)));
    const bz = parseBzImage(kernelBytes);
    log(
      `kernel ${release}: boot protocol ${protocolString(bz.protocol)}, ${bz.payloadFormat} payload of ${bz.payload?.length ?? 0} bytes`,
    );
    const modDir = [
      join(work, "kernel", "lib", "modules", release),
      join(work, "kernel", "usr", "lib", "modules", release),
    ].find((d) => existsSync(d));
    if (modDir === undefined) throw new ImageBuildError(`${kpkg.name} contains no lib/modules/${release}`);
    log(`resolving modules ${drivers.join(", ")} from their modinfo depends=`);
    const mods = await resolveModules(modDir, drivers);
    for (const m of mods.order) {
      if (m.vermagic !== undefined && !m.vermagic.startsWith(`${release} `)) {
        throw new ImageBuildError(`module ${m.name} was built for "${m.vermagic}", not ${release}`);
      }
    }
    log(`${mods.order.length} modules: ${mods.order.map((m) => m.name).join(" ")}`);

    const busyboxPath = join(work, "busybox", "bin", "busybox");
    if (!existsSync(busyboxPath)) throw new ImageBuildError("busybox-static contains no bin/busybox");
    const busybox = new Uint8Array(readFileSync(busyboxPath));

    log("writing the initramfs (newc cpio, gzip)");
    const cpio = buildCpio(initramfsEntries(release, busybox, mods));
    const initrd = gzipSync(cpio, { level: 9 });

    const kernelOut = join(dir, `vmlinuz-${release}`);
    const initrdOut = join(dir, `initrd-${release}.cpio.gz`);
    writeAtomic(kernelOut, kernelBytes);
    writeAtomic(initrdOut, initrd);
    const manifest: ImageManifest = {
      builderVersion: BUILDER_VERSION,
      key,
      kernelPackage: kpkg.name,
      kernelPackageVersion: kpkg.version,
      kernelRelease: release,
      kernelVersionString: bz.kernelVersion ?? "",
      bootProtocol: protocolString(bz.protocol),
      busyboxVersion: bpkg.version,
      kernel: kernelOut,
      initrd: initrdOut,
      initrdBytes: initrd.length,
      drivers: [...drivers],
      modules: mods.order.map((m) => ({ name: m.name, path: m.relPath, depends: m.depends })),
      builtAt: new Date().toISOString(),
    };
    writeAtomic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    log(`done: ${kernelOut} and ${initrdOut} (${initrd.length} bytes)`);
    return manifest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The initramfs tree: busybox (applet links are made by /init at boot), /init, /dev/console
 * (the kernel opens it for init's stdio before anything mounts devtmpfs), the modules with
 * modules.dep, and /etc/vmlab/drivers ("driver path..." per line: its load sequence). */
export function initramfsEntries(release: string, busybox: Uint8Array, mods: ModuleSet): CpioEntry[] {
  const enc = new TextEncoder();
  const e: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (p: string): void => {
    const parts = p.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) {
        dirs.add(d);
        e.push({ kind: "dir", path: d });
      }
    }
  };
  for (const d of [
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "dev",
    "proc",
    "sys",
    "tmp",
    "run",
    "root",
    "etc/vmlab",
  ])
    dir(d);
  e.push({ kind: "file", path: "bin/busybox", data: busybox, mode: 0o755 });
  e.push({ kind: "symlink", path: "bin/sh", target: "busybox" });
  e.push({ kind: "file", path: "init", data: enc.encode(INIT_SCRIPT), mode: 0o755 });
  e.push({ kind: "chardev", path: "dev/console", major: 5, minor: 1 });
  e.push({ kind: "chardev", path: "dev/null", major: 1, minor: 3, mode: 0o666 });
  const base = `lib/modules/${release}`;
  for (const m of mods.order) {
    const p = `${base}/${m.relPath}`;
    dir(p.slice(0, p.lastIndexOf("/")));
    e.push({ kind: "file", path: p, data: stripModuleSignature(m.data) });
  }
  dir(base);
  e.push({ kind: "file", path: `${base}/modules.dep`, data: enc.encode(buildModulesDep(mods)) });
  const byName = new Map(mods.order.map((m) => [m.name, m]));
  const driversFile = [...mods.sequences]
    .map(([name, seq]) => `${name} ${seq.map((n) => byName.get(n)?.relPath ?? n).join(" ")}\n`)
    .join("");
  e.push({ kind: "file", path: "etc/vmlab/drivers", data: enc.encode(driversFile) });
  e.push({ kind: "file", path: "etc/hostname", data: enc.encode("vmlab\n") });
  return e;
}
