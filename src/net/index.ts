/**
 * vmlab's virtual network (ARCHITECTURE.md: src/net): the NetBackend contract NIC models use,
 * the shared-memory frame rings, the learning switch, the VM-side port backend, named switches
 * shared between processes, and pcap capture. Imports nothing outside src/net.
 */
export { backToBack, type NetBackend, NullBackend } from "./backend.js";
export {
  ABSOLUTE_MAX_FRAME,
  DEFAULT_RING_CAPACITY,
  FrameRing,
  FrameRingError,
  RING_HEADER_BYTES,
} from "./frame-ring.js";
export {
  joinNamedSwitch,
  NamedSwitchError,
  type NamedSwitchOptions,
  namedSwitchAddress,
  type PortHandle,
} from "./named.js";
export { captureBackend, LINKTYPE_ETHERNET, type PcapOptions, PcapWriter, readPcap } from "./pcap.js";
export { type PortBackendStats, SwitchPortBackend } from "./port-backend.js";
export {
  DEFAULT_AGING_NS,
  DEFAULT_MAX_FRAME,
  type FrameTap,
  type NsClock,
  type PortStats,
  type SwitchOptions,
  type SwitchPortDescription,
  VirtualSwitch,
} from "./switch.js";
