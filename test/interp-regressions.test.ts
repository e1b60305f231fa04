// Regressions found by the conformance oracles (src/conformance): each case failed before its fix.
import assert from "node:assert/strict";
import { test } from "node:test";
import { flatMachine, runToHlt } from "./interp-helpers.js";

test("AAS borrows from AL into AH (host oracle: AL=01 AH=00 AF=1 -> AX=FE0B)", () => {
  // mov ax,0x0001; sahf-free AF set: mov ah,0x10? use: mov al,0x0f; add al,1 (sets AF) ; mov ax,1 keeps flags
  const code = [0xb0, 0x0f, 0x04, 0x01, 0x66, 0xb8, 0x01, 0x00, 0x3f, 0xf4];
  const m = flatMachine(code);
  runToHlt(m);
  assert.equal(m.cpu.reg16[0], 0xfe0b);
});
