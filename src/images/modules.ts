/**
 * Kernel modules for the initramfs: reading a module's `.modinfo` (the NUL-separated
 * "key=value" strings that modinfo(8) prints; `depends=` lists the modules whose symbols it
 * uses), resolving the dependency closure, and writing modules.dep (depmod's format).
 * The Debian package ships no modules.dep, so we derive it from the modules themselves.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { elfSectionBytes } from "../boot/elf.js";
import { decompressXz } from "../boot/xz.js";
import { ImageBuildError } from "./errors.js";

/** Module names treat "-" and "_" alike (the kernel's own rule); we use "_". */
export const normalizeModName = (s: string): string => s.replace(/-/g, "_");

/** The key=value pairs of a module's .modinfo section (a key may repeat, e.g. alias). */
export function readModinfo(ko: Uint8Array, what = "module"): Map<string, string[]> {
  const sec = elfSectionBytes(ko, ".modinfo", what);
  const info = new Map<string, string[]>();
  if (sec === undefined) return info;
  for (const s of new TextDecoder("latin1").decode(sec).split("\0")) {
    const eq = s.indexOf("=");
    if (eq <= 0) continue;
    const k = s.slice(0, eq);
    info.set(k, [...(info.get(k) ?? []), s.slice(eq + 1)]);
  }
  return info;
}

const KO_SUFFIXES = [".ko", ".ko.xz", ".ko.gz", ".ko.zst"] as const;

/** Reads a module file, decompressing .ko.xz / .ko.gz. */
export async function readModuleFile(path: string): Promise<Uint8Array> {
  const raw = new Uint8Array(readFileSync(path));
  if (path.endsWith(".ko")) return raw;
  if (path.endsWith(".ko.xz")) return decompressXz(raw);
  if (path.endsWith(".ko.gz")) return new Uint8Array(gunzipSync(raw));
  throw new ImageBuildError(
    `${path}: zstd-compressed modules are not supported (decompress it with \`zstd -d\` first)`,
  );
}

export interface ResolvedModule {
  /** Normalized name, e.g. "ne2k_pci". */
  readonly name: string;
  /** Path below lib/modules/<version>/ as stored in the initramfs (always a plain .ko). */
  readonly relPath: string;
  /** The uncompressed .ko. */
  readonly data: Uint8Array;
  /** Direct dependencies (normalized names, built-ins excluded). */
  readonly depends: readonly string[];
  readonly vermagic: string | undefined;
}

export interface ModuleSet {
  /** Every needed module, each after its dependencies (a valid insmod order). */
  readonly order: readonly ResolvedModule[];
  /** For each requested module: its load sequence (dependencies first, itself last). */
  readonly sequences: ReadonlyMap<string, readonly string[]>;
}

/** Finds every module file below `moduleDir` (lib/modules/<version>): name -> relative path. */
export function indexModules(moduleDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const d of readdirSync(join(moduleDir, rel), { withFileTypes: true })) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) walk(r);
      else {
        const suf = KO_SUFFIXES.find((s) => d.name.endsWith(s));
        if (suf !== undefined) out.set(normalizeModName(d.name.slice(0, -suf.length)), r);
      }
    }
  };
  walk("");
  return out;
}

/** Names of built-in modules (modules.builtin: one "kernel/.../name.ko" per line). */
export function readBuiltins(moduleDir: string): Set<string> {
  try {
    return new Set(
      readFileSync(join(moduleDir, "modules.builtin"), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => normalizeModName((l.split("/").pop() ?? "").replace(/\.ko$/, ""))),
    );
  } catch {
    return new Set();
  }
}

/** Resolves `wanted` and all their dependencies (depends= and softdep "pre:"). */
export async function resolveModules(moduleDir: string, wanted: readonly string[]): Promise<ModuleSet> {
  const index = indexModules(moduleDir);
  const builtins = readBuiltins(moduleDir);
  const loaded = new Map<string, ResolvedModule>();
  const order: ResolvedModule[] = [];
  const visiting = new Set<string>();

  const visit = async (name: string, requiredBy: string | undefined, optional: boolean): Promise<boolean> => {
    if (loaded.has(name)) return true;
    if (builtins.has(name)) return false;
    const rel = index.get(name);
    if (rel === undefined) {
      if (optional) return false;
      throw new ImageBuildError(
        `kernel module "${name}"${requiredBy ? ` (needed by ${requiredBy})` : ""} is neither in ${moduleDir} nor built in`,
      );
    }
    if (visiting.has(name))
      throw new ImageBuildError(`kernel modules have a dependency cycle through "${name}"`);
    visiting.add(name);
    const data = await readModuleFile(join(moduleDir, rel));
    const info = readModinfo(data, rel);
    const deps = (info.get("depends")?.[0] ?? "")
      .split(",")
      .map((s) => normalizeModName(s.trim()))
      .filter((s) => s !== "");
    const real: string[] = [];
    for (const d of deps) if (await visit(d, name, false)) real.push(d);
    // softdep=pre: a b post: c — load "pre" modules first when they exist as modules.
    for (const sd of info.get("softdep") ?? []) {
      const m = /pre:\s*([^:]*?)(?:\s+post:|$)/.exec(sd);
      for (const d of (m?.[1] ?? "").split(/\s+/).filter((s) => s !== "")) {
        if (await visit(normalizeModName(d), name, true)) real.push(normalizeModName(d));
      }
    }
    visiting.delete(name);
    const mod: ResolvedModule = {
      name,
      relPath: rel.replace(/\.ko\.(xz|gz|zst)$/, ".ko"),
      data,
      depends: real,
      vermagic: info.get("vermagic")?.[0],
    };
    loaded.set(name, mod);
    order.push(mod);
    return true;
  };

  const sequences = new Map<string, string[]>();
  for (const w of wanted.map(normalizeModName)) {
    if (!(await visit(w, undefined, false))) continue; // built in: nothing to load
    sequences.set(w, closure(w, loaded));
  }
  return { order, sequences };
}

/** The load sequence of `name`: every dependency before its dependents, `name` last. */
function closure(name: string, mods: ReadonlyMap<string, ResolvedModule>): string[] {
  const out: string[] = [];
  const walk = (n: string): void => {
    if (out.includes(n)) return;
    for (const d of mods.get(n)?.depends ?? []) walk(d);
    out.push(n);
  };
  walk(name);
  return out;
}

/** modules.dep as depmod writes it: "path: deps", deps listed so that loading them from the
 * last to the first (as modprobe does) loads each before its dependents. */
export function buildModulesDep(set: ModuleSet): string {
  const byName = new Map(set.order.map((m) => [m.name, m]));
  return set.order
    .map((m) => {
      const seq = closure(m.name, byName).slice(0, -1).reverse();
      const deps = seq.map((d) => byName.get(d)?.relPath ?? d);
      return `${m.relPath}:${deps.length > 0 ? ` ${deps.join(" ")}` : ""}\n`;
    })
    .join("");
}

/** The marker the kernel's sign-file appends after a module signature (include/linux/module_signature.h). */
const MODULE_SIG_MAGIC = "~Module signature appended~\n";
/** struct module_signature: algo, hash, id_type, signer_len, key_id_len, pad[3], be32 sig_len. */
const MODULE_SIG_INFO_SIZE = 12;

/**
 * Remove a module's appended signature. The Debian kernel checks signatures when a module
 * is loaded (CONFIG_MODULE_SIG without _FORCE): in an emulated guest the RSA and SHA-256
 * work costs seconds per boot, and an unsigned module loads all the same (the kernel only
 * taints itself, once). Returns the input unchanged when it carries no signature or the
 * trailer does not add up.
 */
export function stripModuleSignature(ko: Uint8Array): Uint8Array {
  const magic = new TextEncoder().encode(MODULE_SIG_MAGIC);
  const end = ko.length - magic.length;
  if (end < MODULE_SIG_INFO_SIZE) return ko;
  for (let i = 0; i < magic.length; i++) if (ko[end + i] !== magic[i]) return ko;
  const info = end - MODULE_SIG_INFO_SIZE;
  const signerLen = ko[info + 3]!;
  const keyIdLen = ko[info + 4]!;
  const sigLen = new DataView(ko.buffer, ko.byteOffset + info + 8, 4).getUint32(0, false);
  const start = info - sigLen - signerLen - keyIdLen;
  return start > 0 ? ko.subarray(0, start) : ko;
}
