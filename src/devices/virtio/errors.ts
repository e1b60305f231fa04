/**
 * Every way a guest driver can misbehave towards a virtio device, in one place (STYLE.md:
 * "one exhaustive enum naming every way a guest can misbehave", after rust-vmm's
 * virtio-queue). The value of each entry is its message, citing the virtio 1.2 section the
 * guest broke. A detected misbehaviour is counted as "error:<kind>" in the device's
 * DeviceStats; the structural ones (the device cannot go on trusting the queue) also put the
 * device in DEVICE_NEEDS_RESET (2.1.2) and stop the queue.
 */
export const VirtioGuestError = {
  "avail-idx-jump": "available idx moved more than the queue size past the last one seen (2.7.6, 2.7.13.3)",
  "desc-index": "descriptor index is not below the queue size (2.7.5)",
  "chain-too-long":
    "descriptor chain has more links than the queue size: a NEXT loop or an overlong chain (2.7.5.2)",
  "chain-too-many-bytes":
    "descriptor chain carries more bytes than the device accepts for one request (2.7.5.2)",
  "buffer-outside-ram": "buffer [addr, addr + len) lies outside guest RAM (2.7.5)",
  "indirect-not-negotiated": "VIRTQ_DESC_F_INDIRECT used without VIRTIO_F_INDIRECT_DESC (2.7.5.3.1)",
  "indirect-nested": "indirect descriptor inside an indirect table (2.7.5.3.1)",
  "indirect-with-next": "VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT both set (2.7.5.3.1)",
  "indirect-bad-length":
    "indirect table length is zero, not a multiple of 16 or longer than the queue size (2.7.5.3.1)",
  "readable-after-writable": "device-readable descriptor after a device-writable one (2.7.4.2)",
  "ring-outside-ram":
    "descriptor table, available or used ring lies outside RAM or is misaligned (2.7, 2.7.1)",
  "queue-size": "queue size is zero, not a power of two or above the device maximum (4.1.4.3.2)",
  "write-after-features-ok": "driver features written after FEATURES_OK (3.1.1)",
  "feature-not-offered": "driver accepted a feature the device did not offer (2.2.1)",
  "no-version-1": "driver did not accept VIRTIO_F_VERSION_1 on a modern device (6.1)",
  "bad-register-access":
    "common configuration field accessed at a width or offset it does not have (4.1.3.1)",
  "queue-config-while-enabled": "queue configuration written while the queue is enabled (4.1.4.3.2)",
  "queue-disable": "driver wrote 0 to queue_enable (4.1.4.3.2)",
  "bad-queue-select": "queue_select names a queue the device does not have (4.1.4.3)",
  "notify-bad-queue": "notification for a queue the device does not have or has not enabled (4.1.4.4)",
  "dma-outside-ram": "a device access through guest memory was refused by the bounds check",
  // virtio-net (5.1)
  "net-tx-writable": "device-writable descriptor in a transmit chain (5.1.6.2)",
  "net-tx-short": "transmit chain shorter than struct virtio_net_hdr (5.1.6.2)",
  "net-tx-too-long": "transmit frame longer than the device accepts without GSO (5.1.6.2)",
  "net-tx-bad-csum":
    "NEEDS_CSUM with csum_start/csum_offset outside the frame, or without VIRTIO_NET_F_CSUM (5.1.6.2.1)",
  "net-tx-gso": "gso_type set although no GSO feature was negotiated (5.1.6.2.1)",
  "net-rx-readable": "device-readable descriptor in a receive chain (5.1.6.3.1)",
  "net-rx-too-small":
    "receive buffer smaller than struct virtio_net_hdr, or too small for the frame without MRG_RXBUF (5.1.6.3.1)",
  // virtio-blk (5.2)
  "blk-no-status": "request has no device-writable status byte at its end (5.2.6.1)",
  "blk-short-header": "request is shorter than the 16-byte request header (5.2.6)",
  "blk-out-of-range": "request touches sectors beyond the capacity (5.2.6.2)",
  "blk-unaligned": "request data length is not a multiple of 512 bytes (5.2.6.1)",
  "blk-read-only": "write to a read-only device (5.2.6.2)",
  "blk-unsupported": "unknown request type (5.2.6.2)",
  "blk-data-direction": "data descriptors point the wrong way for the request type (5.2.6.1)",
} as const;

export type VirtioGuestErrorKind = keyof typeof VirtioGuestError;

/**
 * Thrown inside the queue walker and device request parsers, and caught at the device's
 * entry points (queue notification, frame reception): it never leaves the device.
 */
export class VirtioGuestFault extends Error {
  override readonly name = "VirtioGuestFault";
  constructor(
    readonly kind: VirtioGuestErrorKind,
    detail = "",
  ) {
    super(`${VirtioGuestError[kind]}${detail === "" ? "" : `: ${detail}`}`);
  }
}
