// The global symbols this package reads or writes, each spelled once.
// `Symbol.for` keys are shared by every copy of the package loaded in a
// thread (ESM and CommonJS, two versions side by side): renaming one breaks
// that sharing with copies already published, so these names never change.

/** The thread's one runtime, created by the first copy loaded (SPEC R13). */
export const RUNTIME = Symbol.for("wasm-atexit.runtime");
/** Marks a process listener as this package's, whichever copy added it (exit-libraries.ts). */
export const LISTENER = Symbol.for("wasm-atexit.listener");
/** Marks an exit library's listener held back during a drain (exit-libraries.ts). */
export const HELD_LISTENER = Symbol.for("wasm-atexit.held-listener");
/** Marks an Emscripten module already linked, with its guest's name (emscripten.ts). */
export const EMSCRIPTEN_LINKED = Symbol.for("wasm-atexit.emscripten");
/** Where tests put the debug core and its imports (tests/debug-core.mjs); not public API. */
export const DEBUG_CORE = Symbol.for("wasm-atexit.debug-core");
/** signal-exit v4's emitter, shared by its copies, which counts their listeners. */
export const SIGNAL_EXIT_EMITTER = Symbol.for("signal-exit emitter");
/** `Symbol.dispose`, or Node's name for it where the engine has none yet. */
export const DISPOSE: symbol = Symbol.dispose ?? Symbol.for("nodejs.dispose");
