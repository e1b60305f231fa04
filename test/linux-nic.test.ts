// Each emulated and paravirtual NIC model, driven by the unmodified Linux driver in the
// Debian guest: the guest brings eth0 up and pings a host-side responder. Three echo replies
// received prove frames cross both ways (ARP, then ICMP) through the model's rings, the
// driver's interrupt handling, and the guest's network stack.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { DEFAULT_KERNEL_ARGS, defaultImage, execCmdlineArg } from "../src/images/index.js";
import { Machine } from "../src/machine/machine.js";
import { NIC_DRIVER, NIC_MODELS } from "../src/machine/nics.js";
import { PingResponder } from "../src/net/ping-responder.js";

const image = defaultImage();

for (const model of NIC_MODELS) {
  test(`${model}: the Linux ${NIC_DRIVER[model]} driver pings a host endpoint`, async () => {
    assert.ok(image, "no default guest image: run `node bin/vmlab.js image build`");
    const responder = new PingResponder(Uint8Array.of(10, 0, 2, 2));
    const m = new Machine({ memoryMiB: 64, time: "real", nics: [{ model, backend: responder }] });
    const script =
      "ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ping -c 3 -W 5 10.0.2.2; cat /proc/interrupts";
    await m.loadLinux(readFileSync(image.kernel), {
      initrd: readFileSync(image.initrd),
      cmdline: `${DEFAULT_KERNEL_ARGS} vmlab.modules=${NIC_DRIVER[model]} ${execCmdlineArg(script)}`,
    });
    let out = "";
    m.onSerial((b) => {
      out += String.fromCharCode(b);
    });
    const r = await m.run({ timeoutMs: 300_000 });
    assert.equal(r.reason, "reset", `${r.reason}\n${out.slice(-3000)}`);
    assert.match(out, /3 packets transmitted, 3 packets received/, out.slice(-3000));
    assert.ok(responder.arpReplies >= 1 && responder.echoReplies === 3);
    const stats = m.nics[0]!.stats;
    assert.ok(stats.get("irq:raised") > 0, `${model} raised interrupts`);
  });
}
