// The browser host: a page's end is `pagehide` (also for pages kept in the
// back-forward cache, where `unload` never comes). Handlers run there, so
// they must be synchronous and short: write to localStorage, send a beacon.
// A page has no exit code, no signals, and nothing to wait for.

import type { Host } from "./shutdown.js";

export const browserHost: Host = {
  exitCode: () => 0,
  setExitCode: () => {},
  exit() {
    throw new TypeError("wasm-atexit: a page cannot end itself; its handlers run at pagehide");
  },
  exitNow() {
    throw new TypeError("wasm-atexit: exitNow: a page cannot end itself");
  },
  // Set globalThis.WASM_ATEXIT_TRACE = "1" to trace handlers on the console.
  tracing: () => (globalThis as { WASM_ATEXIT_TRACE?: unknown }).WASM_ATEXIT_TRACE === "1",
  replaceExit: () => () => {},
  scopeCarrier: () => undefined,
  listenForSignals: () => () => {},
  signalCode: () => 0,
  raise() {},
  onEnd(handler) {
    globalThis.addEventListener("pagehide", () => handler(0));
  },
  onIdle() {},
  onFatalError() {},
  catchUncaught: () => () => {},
};

