// Runs a WASI command with reactor libraries linked to it (SPEC W1–W3).
// However the program ends — proc_exit from the program or from any library
// (W1), or main returning (W2) — the whole shared stack is drained, and then
// the program's exit code is returned. A C module's own libc `atexit`
// handlers have run by then, inside its exit() (W3). Imported by runWasi
// (wasi.ts) when a program first runs, and bundled apart
// (build/wasi-run.js, scripts/bundle.mjs).

import { instantiateLinked, type LoadedModule } from "./core.js";
import { missingFlag } from "./guests.js";
import type { Runtime, WasmSource } from "./runtime.js";
import { createWasiHost, type WasiHost } from "./wasi-adapters.js";
import { WasiError, type RunWasiOptions } from "./wasi-options.js";

/** What proc_exit throws: the program ends with `code` (cf. browser_wasi_shim's WASIProcExit). */
class WasiExit {
  constructor(readonly code: number) {}
}

/**
 * The exports of the libraries linked so far, by link name. Link names may
 * be any import module name ("__proto__", "constructor"): no prototype to
 * shadow them or be set by them.
 */
type Linked = Record<string, Record<string, unknown>>;

// Import modules the command supplies itself: a library linked under one
// of these names would be shadowed, or would shadow them.
const RESERVED_MODULES = new Set(["atexit", "wasi_snapshot_preview1", "wasi_unstable"]);

/**
 * How a run ended: the exit code, once every exit handler has run; or why
 * the program could not run, which runWasi (wasi.ts) throws as the
 * package's WasiError. Bundled apart (build/wasi-run.js), the runner has a
 * WasiError class of its own, so a refusal crosses as its message.
 */
export type Outcome = { code: number } | { refused: string; cause?: unknown };

/** runWasi's work: links the libraries, runs the program, drains the stack. */
export async function runProgram(runtime: Runtime, program: WasmSource, options: RunWasiOptions): Promise<Outcome> {
  let code: number;
  try {
    code = await run(runtime, program, options);
  } catch (err) {
    if (!(err instanceof WasiError)) throw err;
    return err.cause === undefined ? { refused: err.message } : { refused: err.message, cause: err.cause };
  }
  // An exit status is 8 bits wide: exit(256) is 0, and then a failed
  // handler still makes it 1.
  return { code: await runtime.policy.drainThenExitCode(code & 0xff) };
}

/** Links the libraries and runs the program; resolves to its exit code, before the drain. */
async function run(runtime: Runtime, program: WasmSource, options: RunWasiOptions): Promise<number> {
  const name = options.name ?? "main";
  const args = options.args ?? [name];
  const libraries = Object.entries(options.link ?? {});
  for (const [linkName] of libraries) {
    if (RESERVED_MODULES.has(linkName)) {
      throw new WasiError(`cannot link a library as "${linkName}": that import module is wasm-atexit's own`);
    }
  }
  const linked: Linked = Object.create(null);
  let running = name;
  try {
    for (const [linkName, source] of libraries) {
      running = linkName;
      linked[linkName] = await initializeLibrary(runtime, source, linkName, linked, await createWasiHost(args, options));
    }
    running = name;
    return await startCommand(runtime, program, name, linked, await createWasiHost(args, options));
  } catch (err) {
    if (!(err instanceof WasiExit)) throw failure(running, err);
    return err.code;
  }
}

/** Links one reactor library and runs its constructors; returns its exports, for the modules linked after it. */
async function initializeLibrary(runtime: Runtime, source: WasmSource, linkName: string, linked: Linked, host: WasiHost): Promise<Record<string, unknown>> {
  const { instance } = await link(runtime, source, linkName, linked, host);
  if (typeof instance.exports._start === "function") {
    throw new WasiError(`${linkName} is a command (it exports _start), not a library: link reactors, such as C built with -mexec-model=reactor`);
  }
  // A reactor's constructors run here; node:wasi also binds its memory.
  whileProgramCodeRuns(() => {
    if (instance.exports.memory instanceof WebAssembly.Memory) host.initialize(instance);
    else if (typeof instance.exports._initialize === "function") instance.exports._initialize();
  });
  // A copy: the loader adds to an import object (env.abort), and
  // an instance's exports object cannot be extended.
  return { ...instance.exports };
}

/** Links the program and runs its `_start`; returns main's exit code (0 when main returns nothing). */
async function startCommand(runtime: Runtime, program: WasmSource, name: string, linked: Linked, host: WasiHost): Promise<number> {
  const { instance } = await link(runtime, program, name, linked, host);
  if (typeof instance.exports._start !== "function") {
    throw new WasiError(`${name} is not a WASI command: it exports no _start`);
  }
  if (typeof instance.exports._initialize === "function") {
    throw new WasiError(`${name} exports both _start and _initialize: a WASI module is a command or a reactor, not both`);
  }
  return whileProgramCodeRuns(() => host.start(instance)) ?? 0;
}

// The signals that end a native program at once.
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

/**
 * Runs `body` (the program's own code, which holds the event loop) with no
 * listener on the signals that stop a program, so that they end it at once,
 * as they end a native program (SPEC W5): a JS listener could not run before
 * the program returns, and its mere presence keeps the signal from killing.
 * The listeners, whoever added them, are put back afterwards, when the
 * drain (and H1) begins.
 */
function whileProgramCodeRuns<T>(body: () => T): T {
  const saved = STOP_SIGNALS.map((signal) => [signal, process.rawListeners(signal)] as const);
  for (const [signal] of saved) process.removeAllListeners(signal);
  try {
    return body();
  } finally {
    for (const [signal, listeners] of saved) for (const listener of listeners) process.on(signal, listener as () => void);
  }
}

/** Instantiates one module as a guest, with the WASI imports and the libraries linked so far. */
async function link(runtime: Runtime, source: WasmSource, name: string, linked: Linked, host: WasiHost): Promise<Pick<LoadedModule, "instance">> {
  const guest = runtime.createGuest({ name });
  const wasi = {
    ...host.imports,
    // During the drain, a guest handler's exit() is an exit request (SPEC W4, R10).
    proc_exit: (code: number) => {
      throw runtime.policy.isDraining() ? runtime.exitRequest(code) : new WasiExit(code);
    },
  };
  const module = await compile(source, name);
  const imports: Record<string, object> = { ...linked, wasi_snapshot_preview1: wasi, ...guest.imports };
  let loaded: Pick<LoadedModule, "instance">;
  try {
    loaded = await instantiateLinked(module, imports);
  } catch (err) {
    throw whyNotLinked(module, imports, name, err);
  }
  guest.attach(loaded.instance);
  const lacking = missingFlag(guest, module);
  if (lacking) throw new WasiError(lacking);
  return loaded;
}

async function compile(source: WasmSource, name: string): Promise<WebAssembly.Module> {
  try {
    return source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source as BufferSource);
  } catch (err) {
    if (err instanceof WebAssembly.CompileError) throw new WasiError(`${name} is not a WebAssembly module (${err.message})`);
    throw err;
  }
}

/** What instantiating `module` threw, said for the user: the engine's message names the module at best; the import list says which function. */
function whyNotLinked(module: WebAssembly.Module, imports: Record<string, object>, name: string, err: unknown): unknown {
  const provided = (entry: WebAssembly.ModuleImportDescriptor) =>
    Object.hasOwn(imports, entry.module) && Object.hasOwn(imports[entry.module]!, entry.name);
  const missing = WebAssembly.Module.imports(module).find((entry) => !provided(entry));
  if (missing) return new WasiError(`${name} needs the import ${missing.module}.${missing.name}, which nothing provides`);
  if (err instanceof WebAssembly.LinkError) return new WasiError(`${name} cannot be linked: ${err.message}`);
  return err;
}

function failure(running: string, err: unknown): unknown {
  if (err instanceof WasiError) return err;
  if (err instanceof WebAssembly.RuntimeError) return new WasiError(`${running} trapped: ${err.message}`, { cause: err });
  return err;
}
