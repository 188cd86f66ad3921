// How a benchmark child loads each library and registers one handler with
// it. Kept apart from bench/lib.mjs so that a measured process loads
// nothing else of the harness.
//
// BENCH_ENTRY names another build of the package's main module (a file) to
// measure in place of the package itself: a copy made to check that the
// benchmark catches a regression (bench/index.mjs --check-p3 does this).
// node:url through getBuiltinModule, not an import: see bench/whole.mjs.
const entry = process.env.BENCH_ENTRY ? process.getBuiltinModule("node:url").pathToFileURL(process.env.BENCH_ENTRY).href : "wasm-atexit";

/** Each library's register(fn), after importing it. */
export const LIBRARIES = {
  // The floor: a bare array, drained by a reverse loop in an exit listener.
  array: async () => {
    const handlers = [];
    process.on("exit", () => {
      for (let i = handlers.length - 1; i >= 0; i--) handlers[i]();
    });
    return (fn) => handlers.push(fn);
  },
  "wasm-atexit": async () => (await import(entry)).register,
  "signal-exit": async () => (await import("signal-exit")).onExit,
  "exit-hook": async () => (await import("exit-hook")).default,
};

/** The package itself, as a program imports it (or the build BENCH_ENTRY names). */
export const importPackage = () => import(entry);
