/* A WASI reactor library ("clib"): registers its own handler on the shared
 * stack, and can end the program itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "wasm_atexit.h"

__attribute__((constructor)) static void unbuffered(void) { setvbuf(stdout, NULL, _IONBF, 0); }

static void lib_handler(void *arg) { printf("clib shared handler %d\n", (int)(intptr_t)arg); }

__attribute__((export_name("lib_register"))) int32_t lib_register(int32_t value) {
  return wasm_atexit_register(lib_handler, (void *)(intptr_t)value);
}
__attribute__((export_name("lib_exit"))) void lib_exit(int32_t code) { exit(code); }
