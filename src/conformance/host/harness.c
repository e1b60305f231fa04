/*
 * vmlab conformance: the host-CPU oracle.
 *
 * Reads fixed-size test cases (struct case_in) from stdin, runs each one natively in
 * ring 3 of this 32-bit process and writes a result record (struct case_out followed by
 * the changed bytes of the data/stack region) to stdout. The TypeScript side
 * (src/conformance/host/host-oracle.ts) builds the cases and parses the results; the two
 * must agree on the layout below (all little-endian, packed).
 *
 * Memory layout (fixed, identical in vmlab's guest memory; see layout.ts):
 *   CODE_ADDR   0x00100000  one page: the snippet, then "jmp exit_stub"
 *   DATA_ADDR   0x00102000  4 KiB data buffer that memory operands point into
 *   STACK_ADDR  0x00103000  4 KiB stack page; ESP starts inside it
 * The data and stack pages are filled from a xorshift32 stream seeded per case, then
 * patched, and every byte that differs afterwards is reported.
 *
 * Faults are caught with sigsetjmp/siglongjmp; the vector is the kernel's trap number
 * (sigcontext trapno: 0 #DE, 3 #BP, 4 #OF, 5 #BR, 6 #UD, 13 #GP, 14 #PF, 16 #MF, 17 #AC)
 * and the registers reported are those of the signal frame (the faulting instruction for
 * faults, the next one for traps: SDM Vol. 3A 6.5).
 *
 * Build: gcc -m32 -O1 -no-pie -fno-pie harness.c -o harness
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_ADDR 0x00100000u
#define DATA_ADDR 0x00102000u
#define STACK_ADDR 0x00103000u
#define REGION_ADDR DATA_ADDR
#define REGION_SIZE 0x2000u
#define MAP_ADDR CODE_ADDR
#define MAP_SIZE 0x4000u
#define MAX_CODE 64
#define MAX_PATCH 16

#pragma pack(push, 1)
struct patch {
  uint16_t offset; /* within the region (DATA_ADDR-based) */
  uint8_t len;     /* 1..16 */
  uint8_t pad;
  uint8_t bytes[16];
};
struct case_in {
  uint32_t magic; /* 0x56434931 "VCI1" */
  uint32_t id;
  uint32_t regs[8]; /* EAX ECX EDX EBX ESP EBP ESI EDI */
  uint32_t eflags;
  uint32_t data_seed;
  uint32_t flags; /* bit 0: FRSTOR fpu[] before the snippet (else FNINIT) */
  uint8_t code_len;
  uint8_t npatch;
  uint8_t pad[2];
  uint8_t code[MAX_CODE];
  struct patch patch[MAX_PATCH];
  uint8_t fpu[108];
};
struct case_out {
  uint32_t magic; /* 0x56434F31 "VCO1" */
  uint32_t id;
  int32_t vector; /* -1: completed */
  int32_t signo;
  uint32_t err;
  uint32_t regs[8];
  uint32_t eflags;
  uint32_t eip;
  uint8_t fpu[108];
  uint32_t nchanged; /* followed by nchanged uint32: offset << 8 | new byte */
};
#pragma pack(pop)

/* Shared with the assembly stub below (absolute addresses: built with -no-pie). */
uint32_t in_ctx[9];  /* regs[8], eflags */
uint32_t out_ctx[9]; /* regs[8], eflags */
uint32_t host_esp;
uint32_t code_ptr = CODE_ADDR;
uint32_t use_fpu;
uint8_t in_fpu[108] __attribute__((aligned(16)));
uint8_t out_fpu[108] __attribute__((aligned(16)));

void run_snippet(void);
void exit_stub(void);

__asm__(
    ".text\n"
    ".globl run_snippet\n"
    "run_snippet:\n"
    "  pushl %ebp\n  pushl %ebx\n  pushl %esi\n  pushl %edi\n"
    "  movl %esp, host_esp\n"
    "  cmpl $0, use_fpu\n"
    "  jz 1f\n"
    "  frstor in_fpu\n"
    "  jmp 2f\n"
    "1: fninit\n"
    "2: pushl in_ctx+32\n"
    "  popfl\n"
    "  movl in_ctx+0, %eax\n"
    "  movl in_ctx+4, %ecx\n"
    "  movl in_ctx+8, %edx\n"
    "  movl in_ctx+12, %ebx\n"
    "  movl in_ctx+20, %ebp\n"
    "  movl in_ctx+24, %esi\n"
    "  movl in_ctx+28, %edi\n"
    "  movl in_ctx+16, %esp\n"
    "  jmp *code_ptr\n"
    ".globl exit_stub\n"
    "exit_stub:\n"
    "  movl %esp, out_ctx+16\n"
    "  movl host_esp, %esp\n"
    "  pushfl\n"
    "  popl out_ctx+32\n"
    "  movl %eax, out_ctx+0\n"
    "  movl %ecx, out_ctx+4\n"
    "  movl %edx, out_ctx+8\n"
    "  movl %ebx, out_ctx+12\n"
    "  movl %ebp, out_ctx+20\n"
    "  movl %esi, out_ctx+24\n"
    "  movl %edi, out_ctx+28\n"
    "  fnsave out_fpu\n"
    "  fninit\n"
    "  cld\n"
    "  popl %edi\n  popl %esi\n  popl %ebx\n  popl %ebp\n"
    "  ret\n");

static sigjmp_buf jb;
static volatile int fault_signo;
static volatile uint32_t fault_trapno, fault_err, fault_eip, fault_eflags;
static volatile uint32_t fault_regs[8];
static uint8_t fault_fpu[108];
static int fault_have_fpu;

static void on_signal(int sig, siginfo_t *si, void *ucv) {
  (void)si;
  ucontext_t *uc = (ucontext_t *)ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  fault_signo = sig;
  fault_trapno = (uint32_t)g[REG_TRAPNO];
  fault_err = (uint32_t)g[REG_ERR];
  fault_eip = (uint32_t)g[REG_EIP];
  fault_eflags = (uint32_t)g[REG_EFL];
  fault_regs[0] = (uint32_t)g[REG_EAX];
  fault_regs[1] = (uint32_t)g[REG_ECX];
  fault_regs[2] = (uint32_t)g[REG_EDX];
  fault_regs[3] = (uint32_t)g[REG_EBX];
  fault_regs[4] = (uint32_t)g[REG_UESP];
  fault_regs[5] = (uint32_t)g[REG_EBP];
  fault_regs[6] = (uint32_t)g[REG_ESI];
  fault_regs[7] = (uint32_t)g[REG_EDI];
  fault_have_fpu = 0;
  if (uc->uc_mcontext.fpregs) {
    memcpy(fault_fpu, (const void *)uc->uc_mcontext.fpregs, 108);
    fault_have_fpu = 1;
  }
  siglongjmp(jb, 1);
}

static uint32_t xorshift32(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

/* Must match fillRegion() in layout.ts. */
static void fill_region(uint8_t *p, uint32_t seed) {
  uint32_t s = seed ? seed : 0x9e3779b9u;
  for (uint32_t i = 0; i < REGION_SIZE; i += 4) {
    uint32_t v = xorshift32(&s);
    memcpy(p + i, &v, 4);
  }
}

static int read_full(void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(0, (uint8_t *)buf + got, n - got);
    if (r <= 0) return got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

static uint8_t obuf[1 << 16];
static size_t olen;
static void out_flush(void) {
  size_t off = 0;
  while (off < olen) {
    ssize_t w = write(1, obuf + off, olen - off);
    if (w <= 0) exit(3);
    off += (size_t)w;
  }
  olen = 0;
}
static void out_put(const void *p, size_t n) {
  if (olen + n > sizeof obuf) out_flush();
  memcpy(obuf + olen, p, n);
  olen += n;
}

int main(void) {
  void *m = mmap((void *)MAP_ADDR, MAP_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (m != (void *)MAP_ADDR) {
    fprintf(stderr, "harness: cannot map 0x%x..0x%x (got %p)\n", MAP_ADDR, MAP_ADDR + MAP_SIZE, m);
    return 2;
  }
  static uint8_t altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

  /* Header: the selectors this process runs with, so that vmlab can load the same ones. */
  {
    uint32_t hdr[7];
    uint16_t sel[6];
    __asm__ volatile("movw %%es, %0; movw %%cs, %1; movw %%ss, %2; movw %%ds, %3; movw %%fs, %4; movw %%gs, %5"
                     : "=m"(sel[0]), "=m"(sel[1]), "=m"(sel[2]), "=m"(sel[3]), "=m"(sel[4]), "=m"(sel[5]));
    hdr[0] = 0x56434831u; /* "VCH1" */
    for (int i = 0; i < 6; i++) hdr[1 + i] = sel[i];
    out_put(hdr, sizeof hdr);
    out_flush();
  }
  static uint8_t before[REGION_SIZE];
  uint8_t *region = (uint8_t *)REGION_ADDR;
  uint8_t *code = (uint8_t *)CODE_ADDR;
  struct case_in c;
  for (;;) {
    int r = read_full(&c, sizeof c);
    if (r == 0) break;
    if (r < 0 || c.magic != 0x56434931u || c.code_len > MAX_CODE || c.npatch > MAX_PATCH) {
      fprintf(stderr, "harness: bad input record\n");
      return 2;
    }
    memset(code, 0xcc, 0x1000);
    memcpy(code, c.code, c.code_len);
    /* jmp rel32 exit_stub */
    uint8_t *j = code + c.code_len;
    j[0] = 0xe9;
    int32_t rel = (int32_t)((uint32_t)(uintptr_t)exit_stub - ((uint32_t)CODE_ADDR + c.code_len + 5));
    memcpy(j + 1, &rel, 4);
    fill_region(region, c.data_seed);
    for (unsigned i = 0; i < c.npatch; i++) {
      struct patch *p = &c.patch[i];
      if (p->len > 16 || (uint32_t)p->offset + p->len > REGION_SIZE) {
        fprintf(stderr, "harness: bad patch\n");
        return 2;
      }
      memcpy(region + p->offset, p->bytes, p->len);
    }
    memcpy(before, region, REGION_SIZE);
    memcpy(in_ctx, c.regs, 32);
    in_ctx[8] = c.eflags;
    use_fpu = c.flags & 1;
    memcpy(in_fpu, c.fpu, 108);

    struct case_out o;
    memset(&o, 0, sizeof o);
    o.magic = 0x56434F31u;
    o.id = c.id;
    if (sigsetjmp(jb, 1) == 0) {
      run_snippet();
      o.vector = -1;
      o.signo = 0;
      memcpy(o.regs, out_ctx, 32);
      o.eflags = out_ctx[8];
      o.eip = CODE_ADDR + c.code_len;
      memcpy(o.fpu, out_fpu, 108);
    } else {
      __asm__ volatile("fninit; cld" ::: "memory");
      o.vector = (int32_t)fault_trapno;
      o.signo = fault_signo;
      o.err = fault_err;
      for (int i = 0; i < 8; i++) o.regs[i] = fault_regs[i];
      o.eflags = fault_eflags;
      o.eip = fault_eip;
      if (fault_have_fpu) memcpy(o.fpu, fault_fpu, 108);
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < REGION_SIZE; i++) n += region[i] != before[i];
    o.nchanged = n;
    out_put(&o, sizeof o);
    for (uint32_t i = 0; i < REGION_SIZE; i++) {
      if (region[i] != before[i]) {
        uint32_t e = (i << 8) | region[i];
        out_put(&e, 4);
      }
    }
    /* Results must reach the reader even if a later case kills the process. */
    out_flush();
  }
  out_flush();
  return 0;
}
