#!/usr/bin/env bash
# One-time set-up on a fresh Debian bookworm machine with Node 20: the Debian packages the
# tests and benchmarks use (QEMU as the reference, binutils to assemble guests, gcc-multilib
# for the host-CPU oracle, qemu-user where the kernel cannot run it, tshark to read captures), the npm dependencies, the build, and the default guest image.
# Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v qemu-system-i386 >/dev/null || need_apt+=(qemu-system-x86)
[ -f /usr/share/seabios/bios.bin ] || need_apt+=(seabios) # the BIOS v86 (npm) boots with in the benchmarks
command -v as >/dev/null || need_apt+=(binutils)
command -v gcc >/dev/null || need_apt+=(gcc)
[ -n "$(find /usr/lib/gcc/ -path '*/32/libgcc.a' 2>/dev/null | head -1)" ] || need_apt+=(gcc-multilib)
command -v tshark >/dev/null || need_apt+=(tshark) # reads the pcap captures in the tests
# runs the conformance harness (a 32-bit program) on hosts whose kernel cannot (no IA32 emulation)
command -v qemu-i386 >/dev/null || need_apt+=(qemu-user)
command -v cpio >/dev/null || need_apt+=(cpio) # the initramfs test lists its archive with GNU cpio
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} from Debian's archive"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# `npm install`, not `npm ci`: the lock file lists every platform's optional biome binary,
# and a registry mirror that serves only this platform's makes `npm ci` refuse the lock.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ] || [ package.json -nt node_modules ]; then
  npm install --no-audit --no-fund
fi
npm run --silent build

# The default guest: Debian's i386 kernel and busybox from Debian's archive, cached in
# ~/.cache/vmlab/images (or $VMLAB_CACHE); a no-op when the cached image is current.
node bin/vmlab.js image build
