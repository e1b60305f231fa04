/**
 * What a NIC model is attached to: a port of a virtual switch, a capture tap, or a test
 * loopback. NIC models (src/devices/) depend only on this interface, never on the switch.
 *
 * Frames are Ethernet frames without the FCS (as a driver hands them to hardware, after
 * padding to 60 bytes when the device pads). `send` never blocks: a port that cannot take
 * the frame drops it and returns false (the switch drops rather than blocks, CONTEXT.md).
 */
export interface NetBackend {
  /** Transmit one frame from the guest. Returns false when it was dropped. */
  send(frame: Uint8Array): boolean;
  /**
   * Register the NIC's receive function. The backend calls it with each frame for this NIC;
   * the NIC returns false when it has no receive buffer (the frame is then dropped and
   * counted by the backend).
   */
  setReceiver(receiver: (frame: Uint8Array) => boolean): void;
}

/** A backend that drops everything (a NIC with no cable). */
export class NullBackend implements NetBackend {
  dropped = 0;
  send(_frame: Uint8Array): boolean {
    this.dropped++;
    return false;
  }
  setReceiver(_receiver: (frame: Uint8Array) => boolean): void {}
}

/** Two backends wired back to back (tests, or two NICs in one process). */
export function backToBack(): [NetBackend, NetBackend] {
  let rxA: ((f: Uint8Array) => boolean) | undefined;
  let rxB: ((f: Uint8Array) => boolean) | undefined;
  return [
    { send: (f) => rxB?.(f.slice()) ?? false, setReceiver: (r) => (rxA = r) },
    { send: (f) => rxA?.(f.slice()) ?? false, setReceiver: (r) => (rxB = r) },
  ];
}
