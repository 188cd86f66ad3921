/* A WASI command whose handlers print without fflush (SPEC W4), registered
 * every way one program can: wasm_atexit.h's wasm_atexit_register() and
 * wasm_atexit_register_void(), libc's atexit() (linked with libwasm-atexit),
 * the Rust library "rustlib" and the AssemblyScript library "aslib".
 * argv[1] says how it ends: "return" (main returns 0) or "exit" (exit(0)). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wasm_atexit.h"

__attribute__((import_module("rustlib"), import_name("register_goodbye"))) int32_t rustlib_register(void);
__attribute__((import_module("aslib"), import_name("register_log"))) int32_t aslib_register(int32_t value);

static void header_goodbye(void *whom) { printf("C header handler says goodbye to %s\n", (const char *)whom); }
static void header_goodbye_void(void) { printf("C header handler without an argument says goodbye\n"); }
static void libc_goodbye(void) { printf("C atexit() handler says goodbye\n"); }

int main(int argc, char **argv) {
  if (rustlib_register() <= 0 || atexit(libc_goodbye) != 0 || aslib_register(3) <= 0 ||
      wasm_atexit_register_void(header_goodbye_void) <= 0 || wasm_atexit_register(header_goodbye, "everyone") <= 0) {
    return 70;
  }
  printf("main\n");
  if (argc > 1 && strcmp(argv[1], "exit") == 0) exit(0);
  return 0;
}
