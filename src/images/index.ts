/** The guest image builder: Debian kernel + busybox initramfs (see build.ts). */

export {
  BUILDER_VERSION,
  type BuildOptions,
  buildImage,
  DEFAULT_DRIVERS,
  defaultCacheDir,
  defaultImage,
  type ImageManifest,
  initramfsEntries,
  readManifest,
} from "./build.js";
export { buildCpio, type CpioEntry, parseCpio } from "./cpio.js";
export { ImageBuildError } from "./errors.js";
export {
  DEFAULT_KERNEL_ARGS,
  EXIT_MARKER,
  execCmdlineArg,
  INIT_SCRIPT,
  INIT_STARTED_MARKER,
} from "./init-script.js";
export { buildModulesDep, readModinfo, resolveModules, stripModuleSignature } from "./modules.js";
