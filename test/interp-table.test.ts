/**
 * The instruction table drives the decoder: every form in INSTRUCTION_FORMS decodes to its
 * handler (not #UD), every non-system form executes without #UD, and every opcode the
 * decoder accepts is a form of the table (x87 escapes D8-DF aside).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, fetchBegin, formFor } from "../src/cpu/interp/decoder.js";
import { Insn } from "../src/cpu/interp/insn.js";
import { ud } from "../src/cpu/interp/ops-system.js";
import { INSTRUCTION_FORMS, INTERP_FORMS, type InterpForm } from "../src/cpu/interp/table.js";
import { flatMachine, type Machine } from "./interp-helpers.js";

const CODE = 0x1000;

/** Encode one form: optional 66, opcode, ModRM (mod=3 rm=1, or [ebx] with mod=0 rm=3), immediates. */
function encode(form: InterpForm, size: 8 | 16 | 32): number[] {
  const bytes: number[] = [];
  if (size === 16) bytes.push(0x66);
  bytes.push(...form.opcode);
  const reg = form.digit ?? 1;
  if (form.modrm === "rm" || form.modrm === "reg") bytes.push(0xc0 | (reg << 3) | 1);
  else if (form.modrm === "mem") bytes.push((reg << 3) | 3);
  const im = form.immediate;
  const z = size === 16 ? 2 : 4;
  let n = 0;
  if (form.far === true) n = z + 2;
  else if (im === "z") n = z;
  else if (typeof im === "number") n = im;
  else n = im.reduce((a, b) => a + b, 0);
  // Non-zero immediates (AAM/AAD by 0 would be #DE; shift counts of 1).
  for (let k = 0; k < n; k++) bytes.push(k === 0 ? 1 : 0);
  return bytes;
}

function decodeAt(m: Machine, bytes: number[]): Insn {
  m.mem.writeBytes(CODE, Uint8Array.from(bytes));
  const i = new Insn(ud);
  fetchBegin(m.cpu, CODE, CODE, CODE);
  decode(i, true, true);
  return i;
}

test("every table form decodes to a handler, with the right length", () => {
  const m = flatMachine([]);
  for (const form of INTERP_FORMS) {
    for (const size of form.operandSizes) {
      const bytes = encode(form, size);
      const i = decodeAt(m, bytes);
      const name = `${form.mnemonic} ${form.opcode.map((b) => b.toString(16)).join(" ")} /${form.digit ?? "-"} o${size}`;
      assert.notEqual(i.fn, ud, `${name} decodes to #UD`);
      assert.equal(i.len, bytes.length, `${name} length`);
    }
  }
});

test("every user-level form executes without #UD", () => {
  for (const form of INTERP_FORMS) {
    if (form.oracle !== "user") continue;
    for (const size of form.operandSizes) {
      const bytes = encode(form, size);
      const m = flatMachine([...bytes, 0xf4], CODE);
      m.cpu.regs[3] = 0x4000; // [ebx] operand
      m.cpu.regs[1] = 3; // ecx: small counts for REP forms
      const r = m.interp.run(50);
      void r;
      const uds = m.interp.faults.filter((f) => f.vector === 6);
      const name = `${form.mnemonic} ${form.opcode.map((b) => b.toString(16)).join(" ")} /${form.digit ?? "-"} o${size}`;
      assert.equal(uds.length, 0, `${name} raised #UD`);
    }
  }
});

test("every opcode the decoder accepts is a table form (or an x87 escape)", () => {
  const m = flatMachine([]);
  let accepted = 0;
  for (let op = 0; op < 0x200; op++) {
    const lead = op >= 0x100 ? [0x0f, op & 0xff] : [op];
    if (op < 0x100 && [0x0f, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3].includes(op))
      continue;
    for (const modrm of [
      0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0xc0, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8,
    ]) {
      const i = decodeAt(m, [...lead, modrm | 3, 0, 0, 0, 0, 0, 0, 0, 0]);
      if (i.fn === ud) continue;
      accepted++;
      if (op >= 0xd8 && op <= 0xdf) continue;
      const form = formFor(op, (modrm >> 3) & 7);
      assert.ok(
        form !== undefined && INSTRUCTION_FORMS.includes(form),
        `opcode ${op.toString(16)} modrm ${modrm.toString(16)}`,
      );
      if (form.modrm === "mem") assert.notEqual(modrm >> 6, 3);
      if (form.modrm === "reg" && form.modIgnored !== true) assert.equal(modrm >> 6, 3);
    }
  }
  assert.ok(accepted > 300);
});

test("undefined opcodes raise #UD at their own address", () => {
  for (const bytes of [
    [0x0f, 0x0b],
    [0x0f, 0xff],
    [0x8d, 0xc0],
    [0xf0, 0x90],
    [0xc4, 0xc0],
  ]) {
    const m = flatMachine([0x90, ...bytes]);
    m.interp.run(10);
    assert.equal(m.interp.faults.length, 1, bytes.join(","));
    assert.equal(m.interp.faults[0]!.vector, 6);
    assert.equal(m.interp.faults[0]!.eip, CODE + 1);
    assert.equal(m.cpu.instructionsRetired, 1);
  }
});

test("an instruction longer than 15 bytes is #GP(0)", () => {
  const m = flatMachine([...new Array(15).fill(0x66), 0x90]);
  m.interp.run(10);
  assert.equal(m.interp.faults[0]?.vector, 13);
  assert.equal(m.interp.faults[0]?.eip, CODE);
});
