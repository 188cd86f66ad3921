// Exit handlers for AssemblyScript guests of wasm-atexit (docs/ABI.md).
//
//   import { atExit } from "wasm-atexit/sdk/assemblyscript";
//   function flush(db: i32): void { ... }
//   atExit(flush, db);
//
// Handlers are registered as they are, with no flushing trampoline as the C
// and Rust SDKs have (SPEC W4): AssemblyScript keeps no stdio buffer, so
// what a handler writes with fd_write is written at once.
//
// Build the guest with --exportTable, so the host can find your functions.
// To register from top-level code, also build with --exportStart _initialize:
// the host attaches the table first, then runs it.

// @ts-ignore: decorator
@external("atexit", "register")
declare function registerIndex(fn: u32, arg: i32): i32;
// @ts-ignore: decorator
@external("atexit", "unregister")
declare function unregisterHandle(handle: i32): i32;
// @ts-ignore: decorator
@external("atexit", "count")
declare function countPending(): i32;

/** Status codes: a handle is positive; these are the errors. */
export namespace AtExitError {
  export const NO_MEMORY: i32 = -1;
  export const NOT_PENDING: i32 = -2;
  export const NOT_OWNER: i32 = -3;
  export const QUOTA: i32 = -4;
  export const DISPOSED: i32 = -5;
  export const BAD_INDEX: i32 = -6;
  export const BAD_SIGNATURE: i32 = -7;
  export const NO_TABLE: i32 = -8;
}

/** Registers `fn(arg)` to run at exit; returns a handle (> 0) or an AtExitError. */
export function atExit(fn: (arg: i32) => void, arg: i32 = 0): i32 {
  return registerIndex(fn.index, arg);
}

/** Registers `fn()` to run at exit; returns a handle (> 0) or an AtExitError. */
export function atExitNoArg(fn: () => void): i32 {
  return registerIndex(fn.index, 0);
}

/** Takes back one registration of this module: 0, or an AtExitError. */
export function cancelAtExit(handle: i32): i32 {
  return unregisterHandle(handle);
}

/** This module's pending registrations. */
export function pendingAtExit(): i32 {
  return countPending();
}
