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
 * again at exit. After each handler the trampoline flushes stdio: libc has
 * flushed it already when exit() ends, and what a handler prints later
 * would stay buffered.
 *
 * Built by scripts/build-lib.mjs into lib/wasm32-wasi/libwasm-atexit.a.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* atexit.register_call(trampoline, entry): queue trampoline(entry) for exit,
 * `trampoline` being wasm_atexit_call's index in the function table.
 * Returns a handle (> 0) or a negative error code (the quota, ...). */
__attribute__((import_module("atexit"), import_name("register_call")))
int32_t wasm_atexit_register_call(int32_t trampoline, int32_t entry);

/* One registration: exactly one of the two handlers is set. */
struct exit_entry {
  void (*with_arg)(void *);
  void (*without_arg)(void);
  void *arg;
};

__attribute__((export_name("wasm_atexit_call")))
void wasm_atexit_call(void *raw) {
  struct exit_entry *entry = raw;
  struct exit_entry e = *entry;
  free(entry); /* before the call: a handler that exits or traps leaks nothing */
  if (e.with_arg) e.with_arg(e.arg);
  else e.without_arg();
  fflush(NULL);
}

static int push(struct exit_entry e) {
  struct exit_entry *entry = malloc(sizeof *entry);
  if (!entry) return -1;
  *entry = e;
  if (wasm_atexit_register_call((int32_t)(uintptr_t)wasm_atexit_call, (int32_t)(uintptr_t)entry) <= 0) {
    free(entry);
    return -1; /* C: non-zero when the handler cannot be registered */
  }
  return 0;
}

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle) {
  (void)dso_handle; /* one module: its registrations are its owner's */
  return push((struct exit_entry){fn, 0, arg});
}

int atexit(void (*fn)(void)) {
  return push((struct exit_entry){0, fn, 0});
}
