/**
 * Debian package plumbing for the image builder: find the current i386 kernel and busybox
 * with apt-cache, fetch them with `apt-get download`, unpack them with `dpkg-deb -x`.
 * Every failure says which command failed and what to install or run.
 */

import { spawnSync } from "node:child_process";
import { ImageBuildError } from "./errors.js";

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

/** Runs a command; a missing program becomes an ImageBuildError naming the package to install. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; allowFail?: boolean } = {},
): RunResult {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) {
    if ((r.error as NodeJS.ErrnoException).code === "ENOENT") throw missingTool(cmd);
    throw new ImageBuildError(`${cmd}: ${r.error.message}`);
  }
  const res = { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
  if (res.status !== 0 && !opts.allowFail) {
    throw new ImageBuildError(
      `\`${cmd} ${args.join(" ")}\` failed (exit ${res.status}):\n${res.stderr.trim()}`,
    );
  }
  return res;
}

const TOOL_PACKAGE: Record<string, string> = {
  "apt-get": "apt",
  "apt-cache": "apt",
  "dpkg-deb": "dpkg",
  dpkg: "dpkg",
};

export function missingTool(cmd: string): ImageBuildError {
  const pkg = TOOL_PACKAGE[cmd];
  return new ImageBuildError(
    `\`${cmd}\` is not installed. \`vmlab image build\` fetches the guest kernel and busybox from Debian's archive ` +
      `and needs apt and dpkg: on Debian or Ubuntu run \`apt-get install ${pkg ?? cmd}\`. ` +
      "Elsewhere, build the image on a Debian machine (or container) and copy the cache directory ($VMLAB_CACHE).",
  );
}

/** Checks that the tools exist before doing anything. */
export function checkTools(): void {
  for (const t of ["apt-get", "apt-cache", "dpkg-deb", "dpkg"]) {
    const r = spawnSync(t, ["--version"], { encoding: "utf8" });
    if (r.error !== undefined) throw missingTool(t);
  }
}

const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

/** Makes sure the i386 architecture is enabled (dpkg --add-architecture i386 + apt-get update). */
export function ensureI386(log: (m: string) => void): void {
  const native = run("dpkg", ["--print-architecture"]).stdout.trim();
  const foreign = run("dpkg", ["--print-foreign-architectures"]).stdout.split(/\s+/);
  if (native === "i386" || foreign.includes("i386")) return;
  if (!isRoot()) {
    throw new ImageBuildError(
      "the i386 architecture is not enabled in dpkg. Run as root:\n  dpkg --add-architecture i386 && apt-get update\nthen run `vmlab image build` again.",
    );
  }
  log("enabling the i386 architecture: dpkg --add-architecture i386 && apt-get update");
  run("dpkg", ["--add-architecture", "i386"]);
  aptUpdate(log);
}

export function aptUpdate(log: (m: string) => void): void {
  if (!isRoot()) {
    throw new ImageBuildError(
      "apt's package lists lack the i386 packages; run `apt-get update` as root, then try again.",
    );
  }
  log("apt-get update");
  // Partial failures (a mirror mid-sync) still leave usable lists: warn, do not stop.
  const r = run("apt-get", ["update"], { allowFail: true });
  if (r.status !== 0) log(`apt-get update reported problems (continuing):\n${r.stderr.trim()}`);
}

export interface PackageVersion {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
}

/** The candidate version of `name:arch` (apt-cache show --no-all-versions), or undefined. */
export function candidate(name: string, arch = "i386"): (PackageVersion & { depends: string }) | undefined {
  const r = run("apt-cache", ["show", "--no-all-versions", `${name}:${arch}`], { allowFail: true });
  if (r.status !== 0) return undefined;
  const field = (f: string): string | undefined =>
    new RegExp(`^${f}: (.*)$`, "m").exec(r.stdout)?.[1]?.trim();
  const version = field("Version");
  if (version === undefined) return undefined;
  return { name, version, arch, depends: field("Depends") ?? "" };
}

/** Resolves the kernel package: an explicit name, or the one linux-image-686 depends on. */
export function resolveKernelPackage(explicit: string | undefined, log: (m: string) => void): PackageVersion {
  const lookup = (): PackageVersion | undefined => {
    if (explicit !== undefined) return candidate(explicit);
    const meta = candidate("linux-image-686");
    const dep = meta && /(linux-image-\d[^\s,(]*-686)\b/.exec(meta.depends)?.[1];
    return dep ? candidate(dep) : undefined;
  };
  let pkg = lookup();
  if (pkg === undefined) {
    aptUpdate(log);
    pkg = lookup();
  }
  if (pkg === undefined) {
    throw new ImageBuildError(
      `apt cannot find ${explicit ?? "linux-image-686"} for i386. Check /etc/apt/sources.list for Debian bookworm main, ` +
        "then run `dpkg --add-architecture i386 && apt-get update`.",
    );
  }
  return pkg;
}

export function resolvePackage(name: string, log: (m: string) => void): PackageVersion {
  let pkg = candidate(name);
  if (pkg === undefined) {
    aptUpdate(log);
    pkg = candidate(name);
  }
  if (pkg === undefined)
    throw new ImageBuildError(`apt cannot find ${name}:i386; run \`apt-get update\` and retry.`);
  return pkg;
}

/** The file name `apt-get download` gives a package (":" in the version becomes "%3a"). */
export const debFileName = (p: PackageVersion): string =>
  `${p.name}_${p.version.replace(/:/g, "%3a")}_${p.arch}.deb`;

/** `apt-get download name:arch=version` into `dir`. */
export function download(p: PackageVersion, dir: string): void {
  run("apt-get", ["download", `${p.name}:${p.arch}=${p.version}`], { cwd: dir });
}

/** `dpkg-deb -x deb dir`. */
export function extract(deb: string, dir: string): void {
  run("dpkg-deb", ["-x", deb, dir]);
}
