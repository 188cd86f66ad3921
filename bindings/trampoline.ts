// A guest whose handlers are JavaScript: a two-function Wasm module whose
// table entry calls back into JS with the registration's argument, a token.
// Each registration of it takes its place in the one LIFO order, counts
// against the guest's quota and goes with dispose(guest), as a C guest's
// does. Used by wasm-atexit/pyodide (one registration per Python handler)
// and wasm-atexit/emscripten (the module's exit work, and each handler of
// a module linked with libwasm-atexit).

import { RUNTIME } from "./globals.js";
import type { Guest } from "./guests.js";

/**
 * The trampoline, in WAT:
 *   (module
 *     (import "host" "call" (func $call (param i32)))
 *     (table (export "table") 2 funcref)
 *     (elem (i32.const 1) $trampoline)
 *     (func $trampoline (param i32) (call $call (local.get 0))))
 */
const TRAMPOLINE = "AGFzbQEAAAABBQFgAX8AAg0BBGhvc3QEY2FsbAAAAwIBAAQEAXAAAgcJAQV0YWJsZQEACQcBAEEBCwEBCggBBgAgABAACw==";
const TRAMPOLINE_INDEX = 1;
/** Compiled once: each guest instantiates it with its own `call`. */
let compiled: WebAssembly.Module | undefined;

/** The runtime behind the package in this thread, as these entries use it (not public API). */
// It may be another copy's, of another version (SPEC R13): a member newer
// than the first published runtime is called only where it exists.
export interface SharedRuntime {
  exitRequest(code: number): unknown;
  trace?(line: () => string): void;
}

export const sharedRuntime = (): SharedRuntime => (globalThis as Record<symbol, SharedRuntime>)[RUNTIME];

/**
 * Attaches the trampoline to `guest`, calling `call(token)` for each of its
 * registrations; returns `register(token)`, which answers as the guest's
 * `atexit.register` does: a handle, or a negative error code.
 */
export function attachTrampoline(guest: Guest, call: (token: number) => void): (token: number) => number {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(TRAMPOLINE), (c) => c.charCodeAt(0)));
  guest.attach(new WebAssembly.Instance(compiled, { host: { call } }));
  const { register } = guest.imports.atexit;
  return (token) => register(TRAMPOLINE_INDEX, token);
}
