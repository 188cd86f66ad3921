/* A WASI command that registers exit handlers both with its own libc
 * atexit() and on the shared stack, and calls two linked libraries: "clib"
 * (C) and "aslib" (AssemblyScript). argv[1] says how it ends:
 *   exit       exit(7) from main
 *   return     main returns 0 (wasi-libc's _start then never calls proc_exit)
 *   lib-exit   the C library calls exit(9), so proc_exit comes from it
 *   trap       main traps */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wasm_atexit.h"

__attribute__((import_module("clib"), import_name("lib_register"))) int32_t clib_register(int32_t value);
__attribute__((import_module("clib"), import_name("lib_exit"))) void clib_exit(int32_t code);
__attribute__((import_module("aslib"), import_name("register_log"))) int32_t aslib_register(int32_t value);

static void shared_handler(void *arg) { printf("program shared handler %d\n", (int)(intptr_t)arg); }
static void libc_handler(void) { printf("program libc atexit handler\n"); }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0); /* handlers print after libc's exit has flushed */
  const char *how = argc > 1 ? argv[1] : "return";
  atexit(libc_handler);
  wasm_atexit_register(shared_handler, (void *)1);
  clib_register(2);
  aslib_register(3);
  wasm_atexit_register(shared_handler, (void *)4);
  printf("main: %s\n", how);
  if (!strcmp(how, "exit")) exit(7);
  if (!strcmp(how, "lib-exit")) clib_exit(9);
  if (!strcmp(how, "trap")) __builtin_trap();
  return 0;
}
