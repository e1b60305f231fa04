/**
 * The NIC models a machine can have, by name, built behind one factory so that the rest of
 * the machine (and the command line) treats them alike: each is a PCI function with a
 * DeviceStats, attached to a NetBackend.
 */

import type { DeviceStats } from "../devices/device-stats.js";
import { E1000 } from "../devices/e1000/e1000.js";
import { Ne2kPci } from "../devices/ne2k/ne2k-pci.js";
import type { PciDevice } from "../devices/pci/pci-device.js";
import { Pcnet } from "../devices/pcnet/pcnet.js";
import { VirtioNet } from "../devices/virtio/index.js";
import type { GuestMemory } from "../memory/guest-memory.js";
import type { NetBackend } from "../net/backend.js";
import type { Clock } from "../time/clock.js";
import type { Scheduler } from "../time/scheduler.js";

export const NIC_MODELS = ["virtio-net", "e1000", "ne2k", "pcnet"] as const;
export type NicModel = (typeof NIC_MODELS)[number];

/** The Linux driver modules each model needs (for /init's vmlab.modules=, comma-separated). */
export const NIC_DRIVER: Record<NicModel, string> = {
  "virtio-net": "virtio_pci,virtio_net",
  e1000: "e1000",
  ne2k: "ne2k_pci",
  pcnet: "pcnet32",
};

export interface NicConfig {
  readonly model: NicModel;
  readonly backend: NetBackend;
  /** Six bytes; default 52:54:00:12:34:(56 + index). */
  readonly mac?: Uint8Array;
  /** e1000 interrupt mitigation (ITR, RDTR/RADV, TIDV/TADV); default on. */
  readonly mitigation?: boolean;
}

export interface NicContext {
  readonly memory: GuestMemory;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
}

export type Nic = PciDevice & { readonly stats: DeviceStats };

export function defaultMac(index: number): Uint8Array {
  return Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, (0x56 + index) & 0xff);
}

export function createNic(config: NicConfig, index: number, ctx: NicContext): Nic {
  const mac = config.mac ?? defaultMac(index);
  const name = `${config.model}#${index}`;
  switch (config.model) {
    case "virtio-net":
      return new VirtioNet({ memory: ctx.memory, backend: config.backend, mac, name });
    case "e1000":
      return new E1000({
        memory: ctx.memory,
        backend: config.backend,
        mac,
        clock: ctx.clock,
        scheduler: ctx.scheduler,
        mitigation: config.mitigation ?? true,
        name,
      });
    case "ne2k":
      return new Ne2kPci({ memory: ctx.memory, backend: config.backend, mac, name });
    case "pcnet":
      return new Pcnet({ memory: ctx.memory, backend: config.backend, mac, name });
  }
}
