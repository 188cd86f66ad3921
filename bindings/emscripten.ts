// wasm-atexit/emscripten: Emscripten-built modules on the shared stack
// (SPEC G11). Emscripten's default build (-sEXIT_RUNTIME=0) never runs a
// module's exit work: its atexit() handlers and static destructors are
// dropped, C stdio is never flushed, and the JS-side line buffers of stdout
// and stderr (flushed by FS.quit()) never reach the terminal. PGlite keeps
// its own exit list, which only its async close() runs.
//
// linkEmscripten(Module) puts that exit work on the shared stack, as one
// registration of a guest of its own. emscriptenGuest(wasm) creates a
// module linked with libwasm-atexit as a guest: each atexit() handler and
// static destructor is then a registration of its own, and the exit work
// runs after the last of them.

import { createGuest, type Guest, type GuestOptions } from "./index.js";
import type { WasmModule } from "./runtime.js";
import { kindOf } from "./errors.js";
import { EMSCRIPTEN_LINKED as LINKED } from "./globals.js";
import { attachTrampoline, sharedRuntime } from "./trampoline.js";

/** What linkEmscripten reads of a created Emscripten module; every member is optional but one of the exit work's. */
export interface EmscriptenModule {
  /** PGlite's own exit list. */
  _pgl_run_atexit_funcs?: () => void;
  /** The C exit list, exported by -sEXIT_RUNTIME=1 builds. */
  ___funcs_on_exit?: () => void;
  _fflush?: (stream: number) => number;
  ___stdio_exit?: () => void;
  /** Exported with -sEXPORTED_RUNTIME_METHODS=FS (or FORCE_FILESYSTEM and FS in the list). */
  FS?: { quit?: () => void; streams?: unknown[] };
  /** libwasm-atexit's trampoline, exported by a module linked with -lwasm-atexit. */
  _wasm_atexit_call?: (entry: number) => void;
  onAbort?: (what: unknown) => void;
  onExit?: (code: number) => void;
}

/** The `moduleArg` emscriptenGuest() returns: pass it to the module's factory as it is. */
export interface EmscriptenModuleArg {
  // Typed without the DOM's WebAssembly types, as the package's others are: no lib is required of the user.
  instantiateWasm(imports: Record<string, object>, receive: (instance: object, module?: object) => void): object;
  onAbort(what: unknown): void;
  onExit(code: number): void;
  [option: string]: unknown;
}

/** The exit work a module's build keeps, found by what it exports. */
interface ExitWork {
  list: string | undefined;
  flush: string | undefined;
  quit: boolean;
}

const DROPS_HANDLERS = "atexit handlers are dropped by this build: relink with -lwasm-atexit, or -sEXIT_RUNTIME=1";

function exitWorkOf(Module: EmscriptenModule): ExitWork {
  const has = (name: keyof EmscriptenModule) => typeof Module[name] === "function";
  return {
    list: has("_pgl_run_atexit_funcs") ? "_pgl_run_atexit_funcs" : has("___funcs_on_exit") ? "___funcs_on_exit" : undefined,
    flush: has("_fflush") ? "_fflush" : has("___stdio_exit") ? "___stdio_exit" : undefined,
    quit: typeof Module.FS?.quit === "function",
  };
}

/**
 * The trace line of what a build keeps and drops (WASM_ATEXIT_TRACE=1).
 * `relinked`: built with -lwasm-atexit, whose handlers are on the shared
 * stack, each followed by a flush of C stdio (libwasm-atexit's trampoline).
 */
function describeWork(name: string, work: ExitWork, relinked: boolean): string {
  const keeps = [
    work.list ? `its exit list (${work.list})` : relinked && "each atexit handler on the shared stack",
    work.flush ? `a flush of C stdio (${work.flush})` : relinked && "a flush of C stdio after each",
    work.quit && "FS.quit() for the JS-side buffers",
  ].filter(Boolean);
  const drops = [
    !work.list && !relinked && DROPS_HANDLERS,
    !work.flush && !relinked && "C stdio is not flushed: export fflush (-sEXPORTED_FUNCTIONS=_fflush)",
    !work.quit && "the JS-side buffers of stdout and stderr are not flushed: export FS (-sEXPORTED_RUNTIME_METHODS=FS)",
  ].filter(Boolean);
  return `Emscripten module "${name}" keeps ${keeps.length ? keeps.join(", ") : "nothing"}${drops.length ? `; ${drops.join("; ")}` : ""}`;
}

/**
 * One module's state: whether it aborted or exited by itself (PGlite's
 * close() ends in exit(0)), read through the hooks its glue calls, which
 * it reads from Module at each call.
 */
class ModuleState {
  aborted = false;
  exited = false;

  /** Chains Module's onAbort and onExit. */
  constructor(private readonly Module: EmscriptenModule) {
    const { onAbort, onExit } = Module;
    Module.onAbort = (what) => {
      this.aborted = true;
      onAbort?.(what);
    };
    Module.onExit = (code) => {
      this.exited = true;
      onExit?.(code);
    };
  }

  /** Why the module must not be called into, or undefined. */
  get gone(): string | undefined {
    return this.aborted ? "it aborted" : this.exited ? "it exited or was closed already" : undefined;
  }

  /** Flushes the JS-side line buffers of stdout and stderr, without closing them (Emscripten 3.1.6's TTY calls it flush, later ones fsync). */
  flushTerminals(): void {
    for (const fd of [1, 2]) {
      const stream = this.Module.FS?.streams?.[fd] as { tty?: unknown; stream_ops?: Record<string, unknown> } | undefined;
      if (!stream?.tty || !stream.stream_ops) continue;
      const flush = stream.stream_ops.fsync ?? stream.stream_ops.flush;
      if (typeof flush === "function") flush.call(stream.stream_ops, stream);
    }
  }

  /** The build's exit work (its one registration runs once): its exit list, a flush of C stdio, FS.quit(). */
  runExitWork(name: string): void {
    const gone = this.gone;
    if (gone) {
      sharedRuntime().trace?.(() => `Emscripten module "${name}": its exit work is skipped: ${gone}`);
      return;
    }
    const Module = this.Module as Record<string, unknown>;
    const work = exitWorkOf(this.Module);
    callModule(() => {
      if (work.list) (Module[work.list] as () => void)();
      if (work.flush === "_fflush") this.Module._fflush!(0);
      else if (work.flush) this.Module.___stdio_exit!();
      if (work.quit) this.Module.FS!.quit!();
    });
  }
}

/** Calls into a module: its exit(n) (Emscripten's ExitStatus) is an exit request (SPEC R10). */
function callModule(body: () => void): void {
  try {
    body();
  } catch (err) {
    const status = (err as { name?: unknown; status?: unknown } | null)?.status;
    if ((err as { name?: unknown } | null)?.name === "ExitStatus" && typeof status === "number") throw sharedRuntime().exitRequest(status);
    throw err;
  }
}


function checkModule(Module: unknown): asserts Module is EmscriptenModule {
  const what = "wasm-atexit: linkEmscripten: Module must be a created Emscripten module (PGlite's pg.Module, or what a factory resolves to)";
  if (typeof Module !== "object" || Module === null) throw new TypeError(`${what}, got ${kindOf(Module)}`);
  const linked = (Module as { [LINKED]?: string })[LINKED];
  if (linked !== undefined) throw new Error(`wasm-atexit: linkEmscripten: this module is already linked, as guest "${linked}"`);
  const work = exitWorkOf(Module as EmscriptenModule);
  if (!work.list && !work.flush && !work.quit) {
    throw new TypeError(`${what}, got an object with none of _pgl_run_atexit_funcs, ___funcs_on_exit, _fflush, ___stdio_exit or FS: build it with -sEXPORTED_RUNTIME_METHODS=FS`);
  }
}

/**
 * Puts the exit work of a created Emscripten module on the shared stack, as
 * one registration of a guest of its own (default name "emscripten"): its
 * exit list (PGlite's `_pgl_run_atexit_funcs`, or the C `___funcs_on_exit`),
 * a flush of C stdio (`_fflush(0)` or `___stdio_exit`) and `FS.quit()`,
 * each where the build has it. It runs once, at the link's place in the
 * LIFO order, at every exit and at `dispose(guest)`; never if the module
 * aborted or exited (PGlite's `close()` ran) after the link.
 */
export function linkEmscripten(Module: EmscriptenModule, options: GuestOptions = {}): Guest {
  checkModule(Module);
  const guest = createGuest({ name: "emscripten", ...options });
  const state = new ModuleState(Module);
  Object.defineProperty(Module, LINKED, { value: guest.name });
  const register = attachTrampoline(guest, () => state.runExitWork(guest.name));
  refuseOrKeep(guest, register(0));
  sharedRuntime().trace?.(() => describeWork(guest.name, exitWorkOf(Module), typeof Module._wasm_atexit_call === "function"));
  return guest;
}

function refuseOrKeep(guest: Guest, handle: number): void {
  if (handle <= 0) throw new RangeError(`wasm-atexit: guest "${guest.name}" could not register its exit work (error ${handle})`);
}

/**
 * Creates a module built with `emcc ... -lwasm-atexit` as a guest of its
 * own (default name "emscripten"): pass the `moduleArg` it returns (your
 * own `moduleArg`, given as the third argument, with its hooks added) to
 * the module's factory, and do not copy it: the factory makes it the Module. It instantiates `wasm` with the
 * module's imports and the guest's, so that each `atexit()` handler and
 * static destructor is a registration of its own, in LIFO order with
 * everyone else's, stdout and stderr flushed after each; after the last of
 * them the module's exit work runs, as linkEmscripten's.
 */
export function emscriptenGuest(
  wasm: ArrayBuffer | ArrayBufferView | WasmModule,
  options: GuestOptions = {},
  moduleArg: Record<string, unknown> = {},
): { guest: Guest; moduleArg: EmscriptenModuleArg } {
  if (!(wasm instanceof WebAssembly.Module) && !ArrayBuffer.isView(wasm) && !(wasm instanceof ArrayBuffer)) {
    throw new TypeError(`wasm-atexit: emscriptenGuest: wasm must be the module's .wasm bytes or a WebAssembly.Module, got ${kindOf(wasm)}`);
  }
  if (typeof moduleArg !== "object" || moduleArg === null) {
    throw new TypeError(`wasm-atexit: emscriptenGuest: moduleArg must be the factory's options object, got ${kindOf(moduleArg)}`);
  }
  const guest = createGuest({ name: "emscripten", ...options });
  // The factory makes this very object its Module: the exit work reads FS and the exports from it.
  const Module = moduleArg as EmscriptenModuleArg;
  const state = new ModuleState(Module as EmscriptenModule);
  // Its exit work is registered below: linkEmscripten refuses the module.
  Object.defineProperty(Module, LINKED, { value: guest.name });
  let instance: WebAssembly.Instance | undefined;
  // Token 0 is the exit work; any other is an entry of libwasm-atexit's, for its trampoline.
  const register = attachTrampoline(guest, (entry) => {
    if (entry === 0) return state.runExitWork(guest.name);
    if (state.gone) return;
    try {
      callModule(() => (instance!.exports.wasm_atexit_call as (entry: number) => void)(entry));
    } finally {
      if (!state.gone) state.flushTerminals();
    }
  });
  Module.instantiateWasm = (imports, receive) => {
    const atexit = { ...guest.imports.atexit, register_call: (_trampoline: number, entry: number) => register(entry) };
    const all = { ...imports, atexit } as WebAssembly.Imports;
    const instantiated = wasm instanceof WebAssembly.Module
      ? WebAssembly.instantiate(wasm, all).then((instance) => ({ instance, module: wasm }))
      : WebAssembly.instantiate(wasm as BufferSource, all);
    instantiated.then(({ instance: created, module }) => {
      instance = created;
      if (typeof created.exports.wasm_atexit_call !== "function") {
        throw new TypeError(`wasm-atexit: emscriptenGuest: guest "${guest.name}" exports no wasm_atexit_call: link it with -lwasm-atexit`);
      }
      // Before its constructors run: the exit work comes after all its handlers.
      refuseOrKeep(guest, register(0));
      receive(created, module);
      sharedRuntime().trace?.(() => describeWork(guest.name, exitWorkOf(Module as EmscriptenModule), true));
    });
    // Emscripten waits for receive(); a failure above is an unhandled rejection, naming what was wrong.
    return {};
  };
  return { guest, moduleArg: Module };
}
