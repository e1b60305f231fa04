// Runs x87 test cases natively. Input lines: "<regs 80 bytes hex> <npush> <cw hex4> <eflags hex> <insn hex> <mem 16 bytes hex>"
// Output: "<fnsave 108 bytes hex> <mem hex> <eflags hex>"
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
static int hexval(char c){ return c<='9'?c-'0':(c|32)-'a'+10; }
static void unhex(const char*s, uint8_t*o, int n){ for(int i=0;i<n;i++) o[i]=hexval(s[2*i])*16+hexval(s[2*i+1]); }
static void puthex(const uint8_t*p,int n){ for(int i=0;i<n;i++) printf("%02x",p[i]); }
int main(){
  uint8_t *code = mmap(0, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  char regsh[200], insnh[64], memh[64]; int npush; unsigned cw; unsigned long long fl;
  static uint8_t regs[96] __attribute__((aligned(16))); static uint8_t mem[16]; static uint8_t save[108]; static uint64_t flags;
  while (scanf("%199s %d %x %llx %63s %63s", regsh, &npush, &cw, &fl, insnh, memh) == 6) {
    memset(regs,0,sizeof regs); unhex(regsh, regs, 80); regs[80]=cw&0xff; regs[81]=cw>>8; memcpy(regs+88,&fl,8);
    unhex(memh, mem, 16);
    int n=0;
    code[n++]=0xdb; code[n++]=0xe3;               // fninit
    code[n++]=0xd9; code[n++]=0x6e; code[n++]=0x50; // fldcw [rsi+80]
    for(int k=0;k<npush;k++){ code[n++]=0xdb; code[n++]=0x6e; code[n++]=10*k; } // fld tbyte [rsi+10k]
    code[n++]=0xff; code[n++]=0x76; code[n++]=0x58; code[n++]=0x9d; // push [rsi+88]; popfq
    int il=strlen(insnh)/2; unhex(insnh, code+n, il); n+=il;
    code[n++]=0x9c; code[n++]=0x58; code[n++]=0x48; code[n++]=0x89; code[n++]=0x01; // pushfq; pop rax; mov [rcx],rax
    code[n++]=0xdd; code[n++]=0x32;               // fnsave [rdx]
    code[n++]=0xdb; code[n++]=0xe3;               // fninit
    code[n++]=0xc3;
    ((void(*)(void*,void*,void*,void*))code)(mem, regs, save, &flags);
    puthex(save,108); printf(" "); puthex(mem,16); printf(" %llx\n", (unsigned long long)flags);
  }
  return 0;
}
