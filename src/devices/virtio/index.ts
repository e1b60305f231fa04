/**
 * Paravirtual devices: virtio 1.2 over PCI (modern interface), virtio-net and virtio-blk.
 *
 *   const net = new VirtioNet({ memory, backend, mac });        // 1AF4:1041
 *   const blk = new VirtioBlk({ memory, path, readOnly });      // 1AF4:1042
 *   pci.addDevice(net, slot);                                    // PciDevice subclasses
 *
 * Files: constants.ts (status and feature bits), errors.ts (every guest misbehaviour),
 * queue.ts (split virtqueues, the bounded descriptor walker), pci-transport.ts (capabilities,
 * common config, ISR/INTx, notifications), net.ts, blk.ts; testing/ holds the driver-side
 * mock, a test harness and the fuzz target.
 */
export { VirtioBlk, type VirtioBlkOptions } from "./blk.js";
export * from "./constants.js";
export { VirtioGuestError, type VirtioGuestErrorKind, VirtioGuestFault } from "./errors.js";
export { VirtioNet, type VirtioNetOptions } from "./net.js";
export { VirtioPciDevice } from "./pci-transport.js";
export { type DescriptorChain, DescriptorWalker, SplitQueue } from "./queue.js";
