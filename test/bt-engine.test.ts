// The binary translator against the interpreter, instruction for instruction: each program
// runs in both engines with the same run(budget) calls and the whole machine state is
// compared after every call (test/bt-helpers.ts). The cases are the ones a translator gets
// wrong: budget tails and single steps, self-modifying and cross-modified code, a page-crossing
// instruction, an exception in the middle of a block (and of a looping block), a switch from
// real to protected mode inside one run, MMIO accesses that trigger adaptive retranslation.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Cpu } from "../src/cpu/cpu.js";
import type { GuestMemory } from "../src/memory/guest-memory.js";
import { ExitReason } from "../src/vmm/exit-reason.js";
import { asm, flat32, type Setup, Twin, withPaging } from "./bt-helpers.js";

const AT = 0x1000;

const LOOP = `
  mov ecx, 300
  mov esi, 0x10000
  xor eax, eax
1:add eax, ecx
  mov [esi+ecx*4], eax
  mov ebx, [esi+ecx*4]
  xor edx, ebx
  push edx
  pop edi
  shl edi, 3
  cmp edi, eax
  jb 2f
  inc edx
2:movzx ebp, dl
  mov [esi+ecx], dl
  sub ebp, 3
  jle 3f
  sar ebp, 1
3:dec ecx
  jnz 1b
  call 4f
  out 0x80, al
  cpuid
  hlt
4:lea eax, [eax+ebx*2+5]
  test eax, eax
  jns 5f
  neg eax
5:ret
`;

const OPTIONS = [
  { hotThreshold: 0, backend: "js" as const },
  { hotThreshold: 0, translateTails: true, backend: "js" as const },
  { hotThreshold: 3, backend: "js" as const },
  { hotThreshold: 1e9 },
  { hotThreshold: 0, backend: "wasm" as const },
  { hotThreshold: 3, backend: "wasm" as const },
];

/**
 * Run `src` under every OPTIONS beside the interpreter, in run() calls of the budgets in
 * turn (at most `maxRuns`), comparing after each; it must reach its HLT. `after` runs on
 * each pair at the end.
 */
function runToHltInSlices(
  src: string,
  budgets: readonly number[],
  maxRuns: number,
  after?: (t: Twin, opts: (typeof OPTIONS)[number]) => void,
) {
  const code = asm(src, AT);
  for (const opts of OPTIONS) {
    const t = new Twin(flat32(code, AT), opts);
    for (let k = 0; k < maxRuns && !t.a.cpu.halted; k++)
      t.run(budgets[k % budgets.length]!, JSON.stringify(opts));
    assert.ok(t.a.cpu.halted, "the program ran to its HLT");
    after?.(t, opts);
  }
}

test("any split of the budget gives the interpreter's state after every run()", () => {
  const budgets = [1, 2, 3, 5, 7, 11, 13, 1, 1, 100, 17, 1000, 4, 1, 64, 257];
  runToHltInSlices(LOOP, budgets, 400, (t) => t.run(1_000_000, "after HLT"));
  const t = new Twin(flat32(asm(LOOP, AT), AT));
  t.runToStop();
  const s = t.bt.translationStats();
  assert.ok(s.blocksTranslated > 5 && s.instructionsInTranslations > 3000, JSON.stringify(s));
  assert.equal(s.callouts.io, 1);
  assert.equal(s.callouts.cpuid, 1);
  assert.equal(s.callouts.hlt, 1);
});

test("REP string iterations count against the budget of the blocks after them in a region", () => {
  // A REP instruction retires its iterations after the first itself (ops-string.ts): a
  // region that did not count them ran past the end of the slice (found on a Debian boot,
  // where the late slice end moved a timer interrupt).
  const src = `
    mov edx, 150
  1:mov esi, 0x10000
    mov edi, 0x11000
    mov ecx, 7
    rep movsb
    add eax, edx
    mov ecx, 5
    rep stosd
    xor ebx, eax
    mov esi, 0x10000
    mov edi, 0x11000
    mov ecx, 9
    repe cmpsb
    adc ebx, ecx
    dec edx
    jnz 1b
    hlt
  `;
  runToHltInSlices(src, [40, 3, 57, 100, 1, 23, 250, 9], 400);
});

test("inline forms: ALU r8 with a memory source, MOV r8 imm, NOT, NEG, SHL/SHR by CL (count 0 too), LODS, SCAS", () => {
  // Each flag-setting form is followed by flag consumers (ADC, SETcc, Jcc, PUSHF) so that
  // a wrong CF/OF/ZF/SF, or flags changed by a count of 0, shows in the state.
  const src = `
    mov edi, 0xff00
    mov ecx, 256
    mov eax, 0x9e3779b9
  0:stosd
    rol eax, 5
    add eax, ecx
    dec ecx
    jnz 0b
    mov esi, 0x10000
    mov ecx, 0
    mov eax, 0x80000001
    mov ebx, 7
    mov edx, 0x12345678
  1:mov byte ptr [esi], cl
    xor al, [esi]
    adc bl, [esi+1]
    sbb bh, [esi+2]
    cmp dl, [esi+3]
    setb dh
    add al, [esi+ecx]
    mov ah, 0x9c
    mov ch, 0x01
    not eax
    neg ebx
    adc edx, 0
    shl edx, cl
    setc byte ptr [esi+8]
    seto byte ptr [esi+9]
    shr eax, cl
    jc 2f
    inc edi
  2:pushfd
    pop ebp
    and ebp, 0x8d5
    xor edi, ebp
    lea edi, [esi+ecx*2-5]
    std
    lodsb
    scasb
    setb byte ptr [esi+11]
    cld
    lodsd
    scasd
    setz byte ptr [esi+10]
    std
    scasd
    lodsd
    cld
    add esi, 4
    add cl, 3
    mov ch, 0
    cmp ecx, 75
    jb 1b
    neg ecx
    mov ecx, 0
    neg ecx
    hlt
  `;
  runToHltInSlices(src, [1, 2, 5, 13, 100, 7, 3, 1000], 2000);
});

test("inline forms: ROL/ROR r32 whose CF and OF are read, CMP m8/m16 imm, XCHG EAX r32, BSWAP, MOVS", () => {
  // Each rotate's CF and OF are read (PUSHFD, ADC, SETO, a Jcc in the next block) and its
  // SF ZF PF AF must stay those of the CMP before it; the values change every iteration.
  const src = `
    mov esi, 0x10000
    mov ecx, 300
    mov eax, 0x80000001
    mov ebx, 0x40000003
    mov edx, 0x1234
    mov edi, 0
  1:imul eax, eax, 0x9e3779b1
    add eax, ecx
    lea ebx, [ebx+eax*4+7]
    mov word ptr [esi+4], ax
    mov byte ptr [esi+6], bl
    cmp eax, ebx
    rol eax, 1
    pushfd
    pop ebp
    and ebp, 0x8d5
    xor edi, ebp
    ror ebx, 1
    adc edi, 0
    seto byte ptr [esi+8]
    rol edx, 7
    pushfd
    pop ebp
    and ebp, 0x8d5
    add edi, ebp
    ror eax, 13
    jo 2f
    inc edi
  2:ror edx, 31
    jc 3f
    add edi, 3
  3:cmp byte ptr [esi+6], 0x35
    pushfd
    pop ebp
    and ebp, 0x8d5
    xor edi, ebp
    cmp word ptr [esi+4], 0x7fff
    pushfd
    pop ebp
    and ebp, 0x8d5
    add edi, ebp
    cmp word ptr [esi+4], 0x8123
    jbe 4f
    inc edi
  4:cmp byte ptr [esi+6], 0xf0
    adc edi, [esi+8]
    xchg eax, ebx
    xchg eax, edx
    bswap ebx
    bswap edi
    push edi
    lea edi, [esi+ecx+0x40]
    movsw
    movsd
    std
    movsb
    movsw
    cld
    xor eax, [esi+0x41]
    pop edi
    add edi, esi
    mov esi, 0x10000
    dec ecx
    jnz 1b
    hlt
  `;
  runToHltInSlices(src, [1, 2, 5, 13, 100, 7, 3, 1000], 4000, (t, opts) => {
    // The forms above are the wasm backend's: its translations ran most of the loop (at a
    // threshold of 3 it compiles 32 regions at once, more than this program has).
    const s = t.bt.translationStats();
    if (opts.backend === "wasm" && opts.hotThreshold === 0)
      assert.ok(s.instructionsInTranslations > 10000, JSON.stringify(s));
  });
});

test("cold-loop forms: NOP, LEAVE, SETcc r8, TEST r/m32 and EAX imm32, NOT/NEG r32, CMP r8 r8, ALU r/m8 imm8, INC/DEC/PUSH m32, ALU m32 r32", () => {
  // cold-runner.ts runs these inline (hotThreshold 1e9 keeps every block cold); each result
  // and flag set is consumed (ADC, SETcc, PUSHFD) so that a difference shows in the state.
  const src = `
    mov esi, 0x10000
    mov dword ptr [esi], 0x7ffffffe
    mov dword ptr [esi+4], 0x80000001
    mov ecx, 40
    mov eax, 0x12345678
    mov ebx, 0x0f0f0f0f
  1:push ebp
    mov ebp, esp
    push dword ptr [esi+4]
    nop
    test dword ptr [esi], 0x80000000
    setz dl
    test eax, 0x80000101
    sets dh
    setp byte ptr [esi+17]
    test ebx, 0x11
    sets byte ptr [esi+12]
    not ebx
    neg eax
    adc ebx, 0
    cmp dl, dh
    seta cl
    cmp al, bl
    setl ch
    add bl, 0x7f
    adc byte ptr [esi+1], 0x81
    cmp byte ptr [esi+2], 0x40
    setb byte ptr [esi+13]
    sub ah, 0x80
    xor byte ptr [esi+3], 0x5a
    inc dword ptr [esi]
    seto byte ptr [esi+14]
    dec dword ptr [esi+4]
    setno byte ptr [esi+15]
    add [esi], eax
    adc [esi+4], ebx
    sbb [esi+8], ecx
    or [esi+8], edx
    pushfd
    pop edi
    and edi, 0x8d5
    xor [esi+16], edi
    leave
    and ecx, 0xff
    mov ecx, [esi+64]
    inc ecx
    mov [esi+64], ecx
    cmp ecx, 40
    jne 1b
    hlt
  `;
  runToHltInSlices(src, [1, 2, 3, 5, 8, 13, 1000, 4, 7], 2000);
});

test("rotates whose flags are dead are bare rotates; live ones, and budget tails between, keep CF and OF", () => {
  // flag-liveness.ts: ROL/ROR followed (through register moves) by an ALU op that defines all
  // flags. The live cases read CF/OF (JC, ADC, SETO, PUSHF) or reach a memory access first;
  // the budgets stop runs between a rotate and its ADD, where its CF and OF are visible.
  const src = `
    mov esi, 0x10000
    mov dword ptr [esi+64], 60
    mov ecx, 5
    mov eax, 0x6a09e667
    mov ebx, 0xbb67ae85
    mov edx, 0x3c6ef372
  1:add eax, ebx
    xor edx, eax
    ror edx, 16
    add ecx, edx
    rol ebx, 7
    mov edi, ebx
    lea ebp, [edi+ecx*2]
    xor ebx, ecx
    ror eax, cl
    mov edi, eax
    test edi, edi
    rol edx, 1
    sub edx, 3
    ror ebx, 1
    jc 2f
    inc eax
  2:rol eax, 13
    adc edx, ebx
    ror edx, 9
    seto byte ptr [esi]
    rol ebx, 3
    mov [esi+4], ebx
    add ebx, eax
    ror eax, 12
    pushfd
    pop edi
    and edi, 0x8d5
    add edx, edi
    rol edx, 31
    cmp edx, eax
    dec dword ptr [esi+64]
    jnz 1b
    hlt
  `;
  runToHltInSlices(src, [1, 2, 3, 4, 5, 7, 11, 1000, 1, 6, 13], 3000);
});

test("self-modifying code in the same block, the same page and from another page", () => {
  // The first store rewrites the immediate of an instruction two instructions further in the
  // same block; then a loop calls a function on another page 20 times (hot, translated) and
  // rewrites that function's immediate from here, and calls it again.
  const src = `
    mov dword ptr [2f+1], 0x55
    nop
2:  mov eax, 0x11111111
    mov ebx, eax
    mov ecx, 20
3:  call 0x3000
    add esi, eax
    dec ecx
    jnz 3b
    mov dword ptr [0x3001], 0x77
    call 0x3000
    add esi, eax
    hlt
  `;
  const fn = asm("mov eax, 0x7\nret", 0x3000);
  for (const opts of OPTIONS) {
    const setup: Setup = (cpu, mem) => {
      flat32(asm(src, AT), AT)(cpu, mem);
      mem.writeBytes(0x3000, Uint8Array.from(fn));
    };
    const t = new Twin(setup, opts);
    t.runToStop(1_000_000);
    assert.equal(t.b.cpu.regs[3], 0x55, "the same-block rewrite took effect");
    assert.equal(t.b.cpu.regs[6], 20 * 7 + 0x77, "the other page's rewrite took effect");
    if (opts.hotThreshold === 0) assert.ok(t.bt.translationStats().invalidations >= 1);
  }
});

test("cross-modified code: a host write (as by DMA) between runs replaces a translated block", () => {
  const src = "1: mov eax, 0x1\n add ebx, eax\n jmp 1b";
  const t = new Twin(flat32(asm(src, AT), AT), { hotThreshold: 0 });
  t.run(999, "before");
  assert.equal(t.b.cpu.regs[3], 333);
  t.both((s) => s.mem.write32(AT + 1, 0x100));
  t.run(999, "after the write");
  assert.equal(t.b.cpu.regs[3], 333 + 333 * 0x100);
});

test("a loop across a page boundary in one region: a host write to its second page is seen", () => {
  // The loop's first block (0x1ff8) ends on its page and jumps to the second block at 0x2000:
  // with the wasm backend both are one region (translator.ts regionMembers). After 2500
  // iterations, with EIP at the first block, the host rewrites the second block's immediate;
  // the region is entered at the first block, whose page is unchanged, and must not branch
  // into the stale second block (WasmEmitter.pageCheck: the member's code generation).
  const main = asm("mov ecx, 5000\n xor esi, esi\n jmp 0x1ff8", AT);
  const loop = asm(
    "1: add ebx, 1\n jmp 2f\n nop\n nop\n nop\n2: mov eax, 0x11111111\n add esi, eax\n dec ecx\n jnz 1b\n hlt",
    0x1ff8,
  );
  assert.equal(loop[0x2000 - 0x1ff8], 0xb8, "the second block starts the second page");
  for (const opts of OPTIONS) {
    const setup: Setup = (cpu, mem) => {
      flat32(main, AT)(cpu, mem);
      mem.writeBytes(0x1ff8, Uint8Array.from(loop));
    };
    const t = new Twin(setup, opts);
    t.run(3 + 6 * 2500, "2500 iterations");
    assert.equal(t.b.cpu.eip, 0x1ff8, "stopped at the first block");
    t.both((s) => s.mem.write32(0x2001, 0x22222222));
    t.runToStop(100_000);
    assert.equal(t.b.cpu.regs[6]! >>> 0, (2500 * 0x11111111 + 2500 * 0x22222222) >>> 0, JSON.stringify(opts));
  }
});

test("a page-crossing instruction: translated, then its second page rewritten", () => {
  // mov eax, imm32 (5 bytes) at 0x1ffd: opcode and 2 immediate bytes on the first page.
  const code = asm("1: mov eax, 0x44332211\n add ebx, eax\n jmp 1b", 0x1ffd);
  for (const opts of [{ hotThreshold: 0 }, { hotThreshold: 2 }]) {
    const setup: Setup = (cpu, mem) => flat32(code, 0x1ffd)(cpu, mem);
    const t = new Twin(setup, opts);
    t.run(3 * 50, "loop");
    assert.equal(t.b.cpu.regs[0]! >>> 0, 0x44332211);
    t.both((s) => s.mem.write8(0x2001, 0x99)); // the immediate's top byte, on the second page
    t.run(3 * 50, "after rewriting the second page");
    assert.equal(t.b.cpu.regs[0]! >>> 0, 0x99332211);
  }
});

test("an exception in the middle of a block leaves the interpreter's state", () => {
  // Paging maps only the first 4 MiB: [0x800000] is not present (#PF, CR2, error code 0).
  const cases: [string, number][] = [
    ["mov eax, 5\n add ebx, eax\n push eax\n mov ecx, [0x800000]\n inc edx\n hlt", 14],
    ["mov eax, 5\n push eax\n push dword ptr [0x800000]\n inc edx\n hlt", 14],
    ["mov eax, 5\n push eax\n call dword ptr [0x800000]\n hlt", 14],
    ["mov eax, 5\n push eax\n xor ecx, ecx\n div ecx\n hlt", 0],
    ["mov esp, 0x400008\n mov eax, 9\n push eax\n push eax\n push eax\n hlt", 14],
    ["mov eax, 5\n inc dword ptr [0x800000]\n hlt", 14],
  ];
  for (const [src, vector] of cases) {
    for (const opts of OPTIONS) {
      const t = new Twin(withPaging(flat32(asm(src, AT), AT)), opts);
      t.runToStop();
      const f = t.bt.faults;
      assert.equal(f.length, 1, src);
      assert.equal(f[0]!.vector, vector, src);
    }
  }
  // Explicit values for the first case: 3 instructions retired, EIP at the load.
  const t = new Twin(withPaging(flat32(asm(cases[0]![0], AT), AT)), { hotThreshold: 0 });
  t.b.cpu.regs[3] = 10;
  t.a.cpu.regs[3] = 10;
  t.runToStop();
  const f = t.bt.faults[0]!;
  assert.equal(f.retired, 3);
  assert.equal(f.eip, AT + 5 + 2 + 1);
  assert.equal(f.regs[0]!, 5);
  assert.equal(f.regs[3]!, 15);
  assert.equal(f.regs[4], 0x8000 - 4);
  assert.equal(f.cr2, 0x800000);
  assert.equal(f.errorCode, 0);
});

test("an exception in a looping block: the iterations before it are retired", () => {
  // Walks ESI up by 4 KiB until it leaves the mapped 4 MiB: #PF in the 17th iteration.
  const src = "mov esi, 0x3f0000\n1: mov eax, [esi]\n add esi, 0x1000\n inc ecx\n jmp 1b";
  for (const opts of OPTIONS) {
    const t = new Twin(withPaging(flat32(asm(src, AT), AT)), opts);
    t.runToStop();
    const f = t.bt.faults[0]!;
    assert.equal(f.vector, 14);
    assert.equal(f.regs[1], 16);
    assert.equal(f.retired, 1 + 16 * 4);
  }
});

test("real mode to protected mode (CS.D 0 -> 1) inside one run()", () => {
  const src = `
    cli
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    ljmp 0x08, offset pm32
  .code32
  pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x9000
    mov ecx, 100
    xor eax, eax
  1:add eax, ecx
    loop 1b
    push eax
    pop ebx
    hlt
  .p2align 3
  gdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
  gdtr: .word 23
    .long gdt
  `;
  const code = asm(src, 0x7000, true);
  const realMode: Setup = (cpu, mem) => {
    for (let s = 0; s < 6; s++) {
      cpu.segSel[s] = 0;
      cpu.segBase[s] = 0;
      cpu.segLimit[s] = 0xffff;
      cpu.segAccess[s] = s === 1 ? 0x9b : 0x93;
    }
    cpu.eip = 0x7000;
    cpu.regs[4] = 0x6000;
    mem.writeBytes(0x7000, Uint8Array.from(code));
  };
  for (const opts of OPTIONS) {
    const t = new Twin(realMode, opts);
    t.run(1_000_000, "one run");
    assert.ok(t.b.cpu.halted, "halted within the single run");
    assert.equal(t.b.cpu.regs[3], 5050);
    assert.ok(t.b.cpu.codeSize32, "CS.D = 1");
  }
});

test("MMIO loads in a hot loop: adaptive retranslation into a callout, same exits", () => {
  // 0xfec00000 is beyond RAM: each load is an EPT_VIOLATION exit answered by the handler.
  const src = `
    mov ecx, 12
    mov esi, 0xfec00000
  1:mov eax, [esi]
    add ebx, eax
    out 0x80, al
    dec ecx
    jnz 1b
    cpuid
    hlt`;
  const t = new Twin(flat32(asm(src, AT), AT), { hotThreshold: 0, backend: "js" });
  t.runToStop();
  const s = t.bt.translationStats();
  const mmio = t.b.handler.exits.filter((e) => e.startsWith(`${ExitReason.EPT_VIOLATION}:`)).length;
  assert.equal(mmio, 12);
  // The wasm backend takes every MMIO access through its slow path (no retranslation yet):
  // the same exits, instruction for instruction (Twin compares after every run).
  const w = new Twin(flat32(asm(src, AT), AT), { hotThreshold: 0, backend: "wasm" });
  w.runToStop();
  assert.equal(w.b.handler.exits.filter((e) => e.startsWith(`${ExitReason.EPT_VIOLATION}:`)).length, 12);
  assert.equal(w.bt.translationStats().retranslations, 0);
  assert.equal(w.bt.translationStats().callouts.io, 12);
  assert.equal(s.retranslations, 1);
  // One inline access in the entry block, four in the loop's block, which is then retranslated.
  assert.equal(s.mmioInline, 5);
  assert.equal(s.callouts.mmio, 7);
  assert.equal(s.callouts.io, 12);
  assert.equal(s.callouts.cpuid, 1);
});

test("single-stepping (EFLAGS.TF) traps after every instruction in both engines", () => {
  const src = "pushfd\n or dword ptr [esp], 0x100\n popfd\n mov eax, 1\n add eax, 2\n hlt";
  for (const opts of OPTIONS) {
    const t = new Twin(flat32(asm(src, AT), AT), opts);
    t.runToStop();
    assert.equal(t.bt.faults[0]?.vector, 1, "#DB after the first instruction with TF set");
  }
});

test("paged loads and stores in translated code: TLB misses, an alias page, INVLPG, a code page, a read-only page", () => {
  // 4 KiB pages (SDM Vol. 3A 4.3): identity for the first 2 MiB except linear 0x31000 ->
  // physical 0x50000 (remapped to 0x60000 by the program, then INVLPG) and a read-only page
  // at 0x30000, which a supervisor store must fault on once CR0.WP is set (4.6).
  const src = `
  mov ecx, 200
  mov esi, 0x10000
1:mov eax, [esi+ecx*4]
  add eax, ecx
  mov [0x31000+ecx*4], eax
  mov ebx, [0x50000+ecx*4]
  add [esi+ecx*4+0x2000], ebx
  inc dword ptr [0x13000]
  movzx edx, word ptr [0x31002+ecx*4]
  mov [0x14000+ecx*2], dx
  dec ecx
  jnz 1b
  mov dword ptr [0x210c4], 0x60003
  invlpg [0x31000]
  mov ecx, 100
2:mov [0x31000+ecx*4], ecx
  dec ecx
  jnz 2b
  mov dword ptr [data], 0x12345678
  mov eax, [data]
  mov dword ptr [0x30000], 1
  hlt
data: .long 0
`;
  const code = asm(src, AT);
  const setup: Setup = (cpu, mem) => {
    flat32(code, AT)(cpu, mem);
    mem.write32(0x20000, 0x21000 | 3);
    for (let p = 0; p < 512; p++) mem.write32(0x21000 + 4 * p, (p << 12) | 3);
    mem.write32(0x21000 + 4 * 0x31, 0x50003);
    mem.write32(0x21000 + 4 * 0x30, 0x30001);
    for (let k = 0; k < 1024; k++) mem.write32(0x10000 + 4 * k, Math.imul(k, 0x9e3779b1));
    cpu.cr3 = 0x20000;
    cpu.cr0 = cpu.cr0 | 0x8001_0001 | 0; // PG, WP, PE
  };
  for (const opts of OPTIONS) {
    const t = new Twin(setup, opts);
    t.runToStop(997);
    const f = t.bt.faults[0];
    assert.equal(f?.vector, 14, `${JSON.stringify(opts)}: the read-only store faults`);
    assert.equal(f?.errorCode, 3, "present, write, supervisor");
    assert.equal(t.b.mem.read32(0x60000 + 4 * 100), 100, "stores after INVLPG reach the new page");
    assert.notEqual(t.b.mem.read32(0x50000 + 4 * 100), 100, "and not the old one");
  }
  const t = new Twin(setup, { hotThreshold: 0 });
  t.runToStop();
  assert.ok(t.bt.translationStats().instructionsInTranslations > 2000);
});

/** The two callees the remapping tests switch between: `mov eax, 1; ret` and `mov eax, 2; ret`. */
function writeCallees(mem: GuestMemory): void {
  mem.writeBytes(0x40000, Uint8Array.from(asm("mov eax, 1\nret", 0x40000)));
  mem.writeBytes(0x41000, Uint8Array.from(asm("mov eax, 2\nret", 0x40000)));
}

/**
 * `code` at AT in flat segments, the callees, and paging on: page directory 0x20000, its
 * first table 0x21000 mapping the low 2 MiB to themselves (the tests remap linear 0x40000 by
 * writing 0x21100).
 */
function pagedWithCallees(code: readonly number[], cpu: Cpu, mem: GuestMemory): void {
  flat32(code, AT)(cpu, mem);
  mem.write32(0x20000, 0x21000 | 3);
  for (let p = 0; p < 512; p++) mem.write32(0x21000 + 4 * p, (p << 12) | 3);
  writeCallees(mem);
  cpu.cr3 = 0x20000;
  cpu.cr0 = cpu.cr0 | 0x8000_0001 | 0;
}

/** Under every OPTIONS, EBX sums 201 calls of the first callee and 99 of the second. */
function assertCalleeSwitch(setup: Setup, what: string): void {
  for (const opts of OPTIONS) {
    const t = new Twin(setup, opts);
    t.runToStop(97);
    assert.equal(t.b.cpu.regs[3], 201 + 2 * 99, `${JSON.stringify(opts)}: ${what}`);
  }
}

test("INVLPG of a code page reaches the new code; INVLPG of other pages (4 KiB and 4 MiB) keeps it right", () => {
  // Linear 0x40000 maps physical 0x40000 (`mov eax, 1; ret`); after 201 calls the loop
  // remaps it to physical 0x41000 (`mov eax, 2; ret`) and INVLPGs it: the same call, chained
  // to the old block, must reach the new code. Before that, INVLPGs of a data page and of an
  // address in a 4 MiB page (linear 4 MiB) drop only those. SDM Vol. 3A 4.10.4.1.
  const src = `
  xor ebx, ebx
  mov ecx, 300
1:call 0x40000
  add ebx, eax
  cmp ecx, 200
  jne 2f
  invlpg [0x31000]
  invlpg [0x400000]
2:cmp ecx, 100
  jne 4f
  mov dword ptr [0x21100], 0x41003
  invlpg [0x40000]
4:dec ecx
  jnz 1b
  hlt
`;
  const code = asm(src, AT);
  const setup: Setup = (cpu, mem) => {
    pagedWithCallees(code, cpu, mem);
    mem.write32(0x20004, 0x400000 | 0x83); // linear 4 MiB: a 4 MiB page
    cpu.cr4 |= 0x10; // PSE
  };
  assertCalleeSwitch(setup, "201 calls of the old code, 99 of the new");
});

test("chained links kept across a switch of code segment are dropped by an INVLPG made under the other one", () => {
  // Links are kept per CS state (translator.ts chainStamp: the kernel's survive a trip to user
  // mode). Here the loop runs in code segment 0x08, and after 201 calls a far call into code
  // segment 0x18 (another limit: another CS state) remaps the callee's page and INVLPGs it;
  // back in 0x08, the chained call must reach the new code. The far jump first loads CS from
  // the GDT, so that the far return comes back to the very same CS state.
  const src = `
  .byte 0xea
  .long ${AT + 7}
  .word 0x08
  xor ebx, ebx
  mov ecx, 300
1:call 0x40000
  add ebx, eax
  cmp ecx, 100
  jne 4f
  .byte 0x9a
  .long 0x5000
  .word 0x18
4:dec ecx
  jnz 1b
  hlt
`;
  const code = asm(src, AT);
  const remap = asm("mov dword ptr [0x21100], 0x41003\ninvlpg [0x40000]\nretf", 0x5000);
  const setup: Setup = (cpu, mem) => {
    pagedWithCallees(code, cpu, mem);
    mem.writeBytes(0x5000, Uint8Array.from(remap));
    // GDT at 0x30000: null, flat code, flat data, code limited to 512 KiB (G = 0).
    const gdt = [0, 0, 0xffff, 0xcf9b00, 0xffff, 0xcf9300, 0xffff, 0x479b00];
    gdt.forEach((v, k) => {
      mem.write32(0x30000 + 4 * k, v);
    });
    cpu.gdtrBase = 0x30000;
    cpu.gdtrLimit = 31;
  };
  assertCalleeSwitch(setup, "201 calls of the old code, 99 of the new");
});

test("MOV CR3 keeps chained code on global pages and drops it on non-global ones", () => {
  // CR4.PGE; every page is global (PTE.G) but linear 0x40000, which the first page directory
  // maps to physical 0x40000 (`mov eax, 1; ret`) and the second to 0x41000 (`mov eax, 2;
  // ret`). The loop's call stays chained across the switch; its link to the callee must go
  // (SDM Vol. 3A 4.10.2.4, 4.10.4.1).
  const src = `
  xor ebx, ebx
  mov ecx, 300
1:call 0x40000
  add ebx, eax
  cmp ecx, 100
  jne 2f
  mov eax, 0x22000
  mov cr3, eax
2:dec ecx
  jnz 1b
  hlt
`;
  const code = asm(src, AT);
  const setup: Setup = (cpu, mem) => {
    flat32(code, AT)(cpu, mem);
    for (const [pd, pt, callee] of [
      [0x20000, 0x21000, 0x40000],
      [0x22000, 0x23000, 0x41000],
    ] as const) {
      mem.write32(pd, pt | 3);
      for (let p = 0; p < 512; p++) mem.write32(pt + 4 * p, (p << 12) | 0x103);
      mem.write32(pt + 4 * 0x40, callee | 3);
    }
    writeCallees(mem);
    cpu.cr3 = 0x20000;
    cpu.cr4 |= 0x80; // PGE
    cpu.cr0 = cpu.cr0 | 0x8000_0001 | 0;
  };
  assertCalleeSwitch(setup, "201 calls before the switch, 99 after");
});

test("FS: and GS: accesses at a segment base: inline at limit 4 GiB (page checks on the linear address), the slow path otherwise", () => {
  // Linux i386 keeps its per-CPU data at FS: (a segment of limit 4 GiB and a non-zero
  // base). FS has base 0x30002, so FS:0xffc..0xfff crosses a linear page boundary that its
  // offset does not; GS has a limit below 4 GiB, so its accesses take the slow path and
  // fault past the limit. Both engines run the same program, with and without paging.
  const src = `
    mov ecx, 120
    mov ebx, 0
  1:mov eax, fs:[ebx]
    add eax, ecx
    mov fs:[ebx+0x400], eax
    add fs:[ebx+0x800], ecx
    inc dword ptr fs:[0xffc]
    cmp byte ptr fs:[ebx+1], 0x80
    adc edx, fs:[0xffc]
    mov esi, gs:[ebx+8]
    add esi, ecx
    mov gs:[ebx+0x10], esi
    add ebx, 4
    dec ecx
    jnz 1b
    mov eax, gs:[0x10000]
    hlt
  `;
  const segs: Setup = (cpu, mem) => {
    cpu.segBase[4] = 0x30002;
    cpu.segBase[5] = 0x34000;
    cpu.segLimit[5] = 0xffff;
    for (let k = 0; k < 0x1400; k += 4) mem.write32(0x30000 + k, (k * 0x9e3779b1) | 0);
  };
  const code = asm(src, AT);
  for (const paged of [false, true]) {
    for (const opts of [{ hotThreshold: 0, backend: "wasm" as const }, { hotThreshold: 1e9 }]) {
      const flat: Setup = (cpu, mem) => {
        flat32(code, AT)(cpu, mem);
        segs(cpu, mem);
      };
      const t = new Twin(paged ? withPaging(flat) : flat, opts);
      t.runToStop(97);
      assert.equal(t.b.engine.faults.length, 1, "the GS access past its limit faults");
      assert.equal(t.b.engine.faults[0]!.vector, 13);
      if (opts.hotThreshold === 0)
        assert.ok(t.bt.translationStats().instructionsInTranslations > 1000, "the loop ran translated");
    }
  }
});

test("a wasm region made without paging, entered with paging on, is dropped and made again for paging", () => {
  // Inline accesses are made for one CR0.PG (wasm-codegen.ts phys); the region checks it on
  // entry. Here the host turns paging on between two runs of a loop that was translated with
  // it off.
  const src = `
    mov esi, 0x10000
  1:mov eax, [esi+ecx*4]
    add eax, ecx
    mov [esi+ecx*4+0x1000], eax
    inc ecx
    and ecx, 255
    jmp 1b
  `;
  const t = new Twin(flat32(asm(src, AT), AT), { hotThreshold: 0, backend: "wasm" });
  // 1 + 100 iterations of 6: the next run starts at the loop's head, the old region's entry.
  t.run(601, "paging off");
  const before = t.bt.translationStats();
  assert.equal(before.modeMisses, 0);
  t.both((s) => {
    // 4 KiB pages, identity but for the loop's data: linear 0x10000-0x11fff at 0x40000, so a
    // region that took its accesses for physical ones would read and write other memory.
    s.mem.write32(0x20000, 0x21000 | 3);
    for (let p = 0; p < 1024; p++) s.mem.write32(0x21000 + p * 4, ((p << 12) | 3) >>> 0);
    s.mem.write32(0x21000 + 0x10 * 4, 0x40000 | 3);
    s.mem.write32(0x21000 + 0x11 * 4, 0x41000 | 3);
    s.cpu.cr3 = 0x20000;
    s.cpu.cr0 = s.cpu.cr0 | 0x8000_0001 | 0;
  });
  t.run(5000, "paging on");
  t.run(5000, "paging on, again");
  const after = t.bt.translationStats();
  assert.ok(after.modeMisses >= 1, JSON.stringify(after));
  assert.ok(after.regionsTranslated > before.regionsTranslated, "translated again for paging");
  assert.ok(after.instructionsInTranslations > before.instructionsInTranslations + 9000);
});
