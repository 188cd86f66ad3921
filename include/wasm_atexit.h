/*
 * wasm_atexit.h: exit handlers for C guests of wasm-atexit (docs/ABI.md).
 *
 * A handler registered here runs when the host program ends, in one
 * last-in-first-out order with the JavaScript code's handlers and every
 * other guest's. Link with --export-table (clang: -Wl,--export-table), so
 * that the host can find your functions:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -Wl,--export-table ...
 *
 *   static void flush(void *db) { ... }
 *   int init(void) { return wasm_atexit_register(flush, the_db) > 0 ? 0 : -1; }
 *
 * What a handler prints reaches stdout and stderr, pipes and files included
 * (SPEC W4): each registration made here calls its handler through
 * wasm_atexit_run_entry, which flushes stdio after it. Handlers run after
 * libc has flushed stdio for the last time (exit(), or main returning), or
 * in a reactor whose stdio nothing else flushes, so a line a handler
 * prints would otherwise stay in the buffer. Needs wasi-libc (malloc,
 * fflush), as every clang --target=wasm32-wasi build has.
 *
 * Order against libc's own atexit(): libc's handlers run inside exit(),
 * before the program ends; these run when the host drains the shared stack.
 */
#ifndef WASM_ATEXIT_H
#define WASM_ATEXIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WASM_ATEXIT_IMPORT(name) __attribute__((import_module("atexit"), import_name(name)))

/* Status codes: a handle is positive; these are the errors. */
#define WASM_ATEXIT_OK 0
#define WASM_ATEXIT_ERR_NO_MEMORY (-1)     /* the host cannot hold another registration, or malloc failed */
#define WASM_ATEXIT_ERR_NOT_PENDING (-2)   /* unregister: no such pending registration */
#define WASM_ATEXIT_ERR_NOT_OWNER (-3)     /* reserved: never returned (another module's handle is NOT_PENDING) */
#define WASM_ATEXIT_ERR_QUOTA (-4)         /* this module has as many pending as allowed */
#define WASM_ATEXIT_ERR_DISPOSED (-5)      /* this module has been disposed of */
#define WASM_ATEXIT_ERR_BAD_INDEX (-6)     /* not a function in this module's table (a null handler) */
#define WASM_ATEXIT_ERR_BAD_SIGNATURE (-7) /* neither void (*)(void *) nor void (*)(void) */
#define WASM_ATEXIT_ERR_NO_TABLE (-8)      /* the table is not exported, or not attached yet */

/* The raw imports: `fn` is an index into this module's function table,
 * which is what a function pointer is on wasm32. A handler registered with
 * wasm_atexit_register_index itself is called as it is, with no flush. */
WASM_ATEXIT_IMPORT("register") int32_t wasm_atexit_register_index(int32_t fn, int32_t arg);
WASM_ATEXIT_IMPORT("unregister") int32_t wasm_atexit_unregister(int32_t handle);
WASM_ATEXIT_IMPORT("count") int32_t wasm_atexit_count(void);

/* One registration, on the heap until the host calls it back: exactly one
 * of the two handlers is set. */
struct wasm_atexit_entry {
  void (*with_arg)(void *);
  void (*without_arg)(void);
  void *arg;
};

/* What the host calls for each registration: the handler, then
 * fflush(NULL). The entry is freed before the call, so that a handler that
 * exits or traps leaks nothing. */
static inline void wasm_atexit_run_entry(void *raw) {
  struct wasm_atexit_entry *entry = (struct wasm_atexit_entry *)raw;
  struct wasm_atexit_entry e = *entry;
  free(entry);
  if (e.with_arg) e.with_arg(e.arg);
  else e.without_arg();
  fflush(NULL);
}

/* Queues trampoline(a heap copy of e) with `queue`, an import that takes a
 * table index and an argument; returns its answer, or NO_MEMORY. An entry
 * the host refuses is freed; one unregistered keeps its 12 bytes. */
static inline int32_t wasm_atexit_queue_entry(int32_t (*queue)(int32_t, int32_t), void (*trampoline)(void *),
                                              struct wasm_atexit_entry e) {
  if (!e.with_arg && !e.without_arg) return WASM_ATEXIT_ERR_BAD_INDEX;
  struct wasm_atexit_entry *entry = (struct wasm_atexit_entry *)malloc(sizeof *entry);
  if (!entry) return WASM_ATEXIT_ERR_NO_MEMORY;
  *entry = e;
  int32_t answer = queue((int32_t)(uintptr_t)trampoline, (int32_t)(uintptr_t)entry);
  if (answer <= 0) free(entry);
  return answer;
}

/* Registers fn(arg) to run at exit; returns a handle (> 0) or an error. */
static inline int32_t wasm_atexit_register(void (*fn)(void *), void *arg) {
  struct wasm_atexit_entry e = {fn, 0, arg};
  return wasm_atexit_queue_entry(wasm_atexit_register_index, wasm_atexit_run_entry, e);
}

/* Registers fn() to run at exit; returns a handle (> 0) or an error. */
static inline int32_t wasm_atexit_register_void(void (*fn)(void)) {
  struct wasm_atexit_entry e = {0, fn, 0};
  return wasm_atexit_queue_entry(wasm_atexit_register_index, wasm_atexit_run_entry, e);
}

#endif
