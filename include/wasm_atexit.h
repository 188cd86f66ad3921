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
 * Order against libc's own atexit(): libc's handlers run inside exit(),
 * before the program ends; these run when the host drains the shared stack.
 */
#ifndef WASM_ATEXIT_H
#define WASM_ATEXIT_H

#include <stdint.h>

#define WASM_ATEXIT_IMPORT(name) __attribute__((import_module("atexit"), import_name(name)))

/* Status codes: a handle is positive; these are the errors. */
#define WASM_ATEXIT_OK 0
#define WASM_ATEXIT_ERR_NO_MEMORY (-1)     /* the host cannot hold another registration */
#define WASM_ATEXIT_ERR_NOT_PENDING (-2)   /* unregister: no such pending registration */
#define WASM_ATEXIT_ERR_NOT_OWNER (-3)     /* reserved: never returned (another module's handle is NOT_PENDING) */
#define WASM_ATEXIT_ERR_QUOTA (-4)         /* this module has as many pending as allowed */
#define WASM_ATEXIT_ERR_DISPOSED (-5)      /* this module has been disposed of */
#define WASM_ATEXIT_ERR_BAD_INDEX (-6)     /* not a function in this module's table */
#define WASM_ATEXIT_ERR_BAD_SIGNATURE (-7) /* neither void (*)(void *) nor void (*)(void) */
#define WASM_ATEXIT_ERR_NO_TABLE (-8)      /* the table is not exported, or not attached yet */

/* The raw imports: `fn` is an index into this module's function table,
 * which is what a function pointer is on wasm32. */
WASM_ATEXIT_IMPORT("register") int32_t wasm_atexit_register_index(int32_t fn, int32_t arg);
WASM_ATEXIT_IMPORT("unregister") int32_t wasm_atexit_unregister(int32_t handle);
WASM_ATEXIT_IMPORT("count") int32_t wasm_atexit_count(void);

/* Registers fn(arg) to run at exit; returns a handle (> 0) or an error. */
static inline int32_t wasm_atexit_register(void (*fn)(void *), void *arg) {
  return wasm_atexit_register_index((int32_t)(uintptr_t)fn, (int32_t)(uintptr_t)arg);
}

/* Registers fn() to run at exit; returns a handle (> 0) or an error. */
static inline int32_t wasm_atexit_register_void(void (*fn)(void)) {
  return wasm_atexit_register_index((int32_t)(uintptr_t)fn, 0);
}

#endif
