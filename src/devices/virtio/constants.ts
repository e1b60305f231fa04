/**
 * Virtio 1.2 (OASIS, virtio-v1.2-cs01) numbers shared by the transport, the queues and the
 * devices. Feature bits are split into two 32-bit words (bits 0-31 and 32-63) so that no
 * bigint is needed on the register path.
 */

/** Device status bits (2.1 "Device Status Field"). */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** Reserved feature bits (6 "Reserved Feature Bits"), as bit numbers. */
export const F_INDIRECT_DESC = 28;
export const F_EVENT_IDX = 29;
export const F_VERSION_1 = 32;

/** Split-virtqueue descriptor flags (2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Available ring flag: the driver asks for no used-buffer notifications (2.7.7). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Used ring flag: the device asks for no available-buffer notifications (2.7.10). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** The largest queue size (2.6 "Virtqueues": "The maximum Queue Size value is 32768"). */
export const MAX_QUEUE_SIZE = 32768;

/** Virtio device IDs (5 "Device Types"). */
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;

/** 4.1.4.3: msix_config / queue_msix_vector value meaning "no vector". */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

/** Feature bit helpers over [low word, high word]. */
export type FeatureWords = [number, number];

export function hasFeature(words: Readonly<FeatureWords>, bit: number): boolean {
  const w = bit < 32 ? words[0] : words[1];
  return ((w >>> (bit & 31)) & 1) === 1;
}

export function featureWords(bits: readonly number[]): FeatureWords {
  const w: FeatureWords = [0, 0];
  for (const b of bits) {
    if (b < 32) w[0] = (w[0] | (1 << b)) >>> 0;
    else w[1] = (w[1] | (1 << (b - 32))) >>> 0;
  }
  return w;
}
