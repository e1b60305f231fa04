/** `vmlab image build | info`: the Debian guest image (kernel + busybox initramfs). */

import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { parseBzImage, protocolString } from "../../boot/bzimage.js";
import { BootImageError } from "../../boot/errors.js";
import {
  buildImage,
  DEFAULT_DRIVERS,
  DEFAULT_KERNEL_ARGS,
  defaultCacheDir,
  ImageBuildError,
  readManifest,
} from "../../images/index.js";

interface BuildCliOptions {
  force?: boolean;
  cache?: string;
  kernelPackage?: string;
  drivers?: string;
}

interface InfoCliOptions {
  cache?: string;
  json?: boolean;
}

export function registerImageCommand(program: Command): void {
  const image = program.command("image").description("build and inspect the Debian i386 guest image");
  image
    .command("build")
    .description(
      "fetch Debian's linux-image-*-686 and busybox-static (i386) with apt-get, and build the initramfs; cached, rebuilt only when inputs change",
    )
    .option("--force", "rebuild (and re-download) even when the cache is up to date")
    .option("--cache <dir>", "cache directory (default $VMLAB_CACHE or ~/.cache/vmlab/images)")
    .option("--kernel-package <name>", "kernel package (default: the one linux-image-686:i386 depends on)")
    .option("--drivers <list>", `comma-separated modules to include (default ${DEFAULT_DRIVERS.join(",")})`)
    .action(async (opts: BuildCliOptions) => {
      try {
        const m = await buildImage({
          force: opts.force === true,
          ...(opts.cache !== undefined && { cacheDir: opts.cache }),
          ...(opts.kernelPackage !== undefined && { kernelPackage: opts.kernelPackage }),
          ...(opts.drivers !== undefined && { drivers: opts.drivers.split(",").filter((s) => s !== "") }),
        });
        process.stdout.write(`kernel: ${m.kernel}\ninitrd: ${m.initrd}\nversion: ${m.kernelRelease}\n`);
      } catch (e) {
        if (e instanceof ImageBuildError || e instanceof BootImageError) {
          process.stderr.write(`vmlab image build: ${e.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
    });
  image
    .command("info")
    .description("print the cached image's paths and versions")
    .option("--cache <dir>", "cache directory (default $VMLAB_CACHE or ~/.cache/vmlab/images)")
    .option("--json", "print the manifest as JSON")
    .action((opts: InfoCliOptions) => {
      const dir = opts.cache ?? defaultCacheDir();
      const m = readManifest(dir);
      if (m === undefined) {
        process.stderr.write(`vmlab image info: no image in ${dir}; run \`vmlab image build\`\n`);
        process.exitCode = 1;
        return;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        return;
      }
      const present = (p: string): string =>
        existsSync(p) ? p : `${p} (missing: run \`vmlab image build\`)`;
      let proto = m.bootProtocol;
      try {
        if (existsSync(m.kernel))
          proto = protocolString(parseBzImage(new Uint8Array(readFileSync(m.kernel))).protocol);
      } catch (e) {
        proto = `unreadable (${(e as Error).message})`;
      }
      process.stdout.write(
        [
          `cache:      ${dir}`,
          `kernel:     ${present(m.kernel)}`,
          `            ${m.kernelPackage} ${m.kernelPackageVersion}, boot protocol ${proto}`,
          `            ${m.kernelVersionString}`,
          `initrd:     ${present(m.initrd)} (${m.initrdBytes} bytes)`,
          `busybox:    busybox-static ${m.busyboxVersion}`,
          `drivers:    ${m.drivers.join(" ")}`,
          `modules:    ${m.modules.map((x) => x.name).join(" ")}`,
          `built:      ${m.builtAt}`,
          `kernel args suggested: ${DEFAULT_KERNEL_ARGS}`,
          "",
        ].join("\n"),
      );
    });
}
