/*
 * libwasm-atexit: C's atexit() and C++'s __cxa_atexit() for wasm32-wasi
 * modules, on the shared exit stack of wasm-atexit (SPEC G8, docs/ABI.md).
 *
 * Linked before libc, with no change to a module's source:
 *
 *   clang --target=wasm32-wasi ... -L node_modules/wasm-atexit/lib/wasm32-wasi -lwasm-atexit
 *
 * these definitions replace wasi-libc's (clang adds -lc last, so libc's
 * atexit.o is never pulled in). Every handler a module registers with
 * atexit(), and every C++ static or function-local static destructor (which
 * the compiler registers with __cxa_atexit), then goes to the host's stack,
 * as this module's own: one last-in-first-out order with JavaScript's and
 * every other module's handlers, this module's quota, dispose().
 *
 * The host calls each handler through the trampoline wasm_atexit_call:
 * through the module's function table when it exports one, else through
 * the export. A reactor (-mexec-model=reactor) needs no other flag. A
 * command needs -Wl,--export-table as well: wasm-ld wraps a command's
 * exports in calls of its constructors and destructors, which must not run
 * again at exit. The trampoline is wasm_atexit.h's, which flushes stdio
 * after each handler (SPEC W4).
 *
 * Built by scripts/build-lib.mjs into lib/wasm32-wasi/libwasm-atexit.a.
 */
#include <stdint.h>
#include "wasm_atexit.h"

/* atexit.register_call(trampoline, entry): queue trampoline(entry) for exit,
 * `trampoline` being wasm_atexit_call's index in the function table.
 * Returns a handle (> 0) or a negative error code (the quota, ...). */
__attribute__((import_module("atexit"), import_name("register_call")))
int32_t wasm_atexit_register_call(int32_t trampoline, int32_t entry);

__attribute__((export_name("wasm_atexit_call")))
void wasm_atexit_call(void *entry) {
  wasm_atexit_run_entry(entry);
}

static int push(struct wasm_atexit_entry e) {
  /* C: non-zero when the handler cannot be registered */
  return wasm_atexit_queue_entry(wasm_atexit_register_call, wasm_atexit_call, e) > 0 ? 0 : -1;
}

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle) {
  (void)dso_handle; /* one module: its registrations are its owner's */
  struct wasm_atexit_entry e = {fn, 0, arg};
  return push(e);
}

int atexit(void (*fn)(void)) {
  struct wasm_atexit_entry e = {0, fn, 0};
  return push(e);
}
