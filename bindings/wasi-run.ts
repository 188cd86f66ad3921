// Runs a WASI command with reactor libraries linked to it, under node:wasi
// or @bjorn3/browser_wasi_shim (SPEC W1–W3). However the program ends —
// proc_exit from the program or from any library (W1), or main returning
// (W2) — the whole shared stack is drained, and then the program's exit
// code is returned. A C module's own libc `atexit` handlers have run by
// then, inside its exit() (W3). Bundled apart (build/wasi-run.js) and
// imported by runWasi (wasi.ts) when a program first runs; what it shares
// with the package comes in a WasiKit.

import type { LoadedModule } from "./core.js";
import type { WasmSource } from "./runtime.js";
import { confine } from "./wasi-fs.js";
import type { RunWasiOptions, WasiKit } from "./wasi.js";

/** What proc_exit throws: the program ends with `code` (cf. browser_wasi_shim's WASIProcExit). */
class WasiExit {
  constructor(readonly code: number) {}
}

interface WasiHost {
  imports: Record<string, unknown>;
  start(instance: object): number | undefined;
  initialize(instance: object): void;
}

/** runWasi (wasi.ts), with what it shares with the package. */
export async function runWasiWith(kit: WasiKit, program: WasmSource, options: RunWasiOptions): Promise<number> {
  const { runtime, WasiError } = kit;
  const name = options.name ?? "main";
  const makeHost = options.wasi === "browser_wasi_shim" ? shimWasi : nodeWasi;
  const args = options.args ?? [name];
  // Keyed by link names, which may be any import module name ("__proto__",
  // "constructor"): no prototype to shadow them or be set by them.
  const linked: Record<string, Record<string, unknown>> = Object.create(null);
  for (const linkName of Object.keys(options.link ?? {})) {
    if (RESERVED_MODULES.has(linkName)) {
      throw new WasiError(`cannot link a library as "${linkName}": that import module is wasm-atexit's own`);
    }
  }
  let code: number;
  let running = name;
  try {
    for (const [linkName, source] of Object.entries(options.link ?? {})) {
      running = linkName;
      const host = await makeHost(kit, args, options);
      const { instance } = await link(kit, source, linkName, linked, host);
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
      linked[linkName] = { ...instance.exports };
    }
    running = name;
    const host = await makeHost(kit, args, options);
    const { instance } = await link(kit, program, name, linked, host);
    if (typeof instance.exports._start !== "function") {
      throw new WasiError(`${name} is not a WASI command: it exports no _start`);
    }
    if (typeof instance.exports._initialize === "function") {
      throw new WasiError(`${name} exports both _start and _initialize: a WASI module is a command or a reactor, not both`);
    }
    code = whileProgramCodeRuns(() => host.start(instance)) ?? 0;
  } catch (err) {
    if (!(err instanceof WasiExit)) throw failure(kit, running, err);
    code = err.code;
  }
  // An exit status is 8 bits wide: exit(256) is 0, and then a failed
  // handler still makes it 1.
  return runtime.policy.drainThenExitCode(code & 0xff);
}

// Import modules the command supplies itself: a library linked under one
// of these names would be shadowed, or would shadow them.
const RESERVED_MODULES = new Set(["atexit", "wasi_snapshot_preview1", "wasi_unstable"]);

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
async function link(
  { runtime, instantiateWithLoader, missingFlag, WasiError }: WasiKit,
  source: WasmSource,
  name: string,
  linked: Record<string, Record<string, unknown>>,
  host: WasiHost,
): Promise<LoadedModule> {
  const guest = runtime.createGuest({ name });
  const wasi = {
    ...host.imports,
    // During the drain, a guest handler's exit() is an exit request (SPEC W4, R10).
    proc_exit: (code: number) => {
      throw runtime.policy.isDraining() ? runtime.exitRequest(code) : new WasiExit(code);
    },
  };
  let module: WebAssembly.Module;
  try {
    module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source as BufferSource);
  } catch (err) {
    if (err instanceof WebAssembly.CompileError) throw new WasiError(`${name} is not a WebAssembly module (${err.message})`);
    throw err;
  }
  const imports: Record<string, object> = { ...linked, wasi_snapshot_preview1: wasi, ...guest.imports };
  let loaded: LoadedModule;
  try {
    loaded = await instantiateWithLoader(module, imports);
  } catch (err) {
    // The engine's message names the module at best; the import list says which function.
    const provided = (entry: WebAssembly.ModuleImportDescriptor) =>
      Object.hasOwn(imports, entry.module) && Object.hasOwn(imports[entry.module]!, entry.name);
    const missing = WebAssembly.Module.imports(module).find((entry) => !provided(entry));
    if (missing) throw new WasiError(`${name} needs the import ${missing.module}.${missing.name}, which nothing provides`);
    if (err instanceof WebAssembly.LinkError) throw new WasiError(`${name} cannot be linked: ${err.message}`);
    throw err;
  }
  guest.attach(loaded.instance);
  const lacking = missingFlag(guest, module);
  if (lacking) throw new WasiError(lacking);
  return loaded;
}

function failure({ WasiError }: WasiKit, running: string, err: unknown): unknown {
  if (err instanceof WasiError) return err;
  if (err instanceof WebAssembly.RuntimeError) return new WasiError(`${running} trapped: ${err.message}`, { cause: err });
  return err;
}

async function nodeWasi(_kit: WasiKit, args: string[], options: RunWasiOptions): Promise<WasiHost> {
  const { WASI } = loadNodeWasi();
  const wasi = new WASI({
    version: "preview1",
    args,
    env: options.env ?? {},
    preopens: options.preopens ?? {},
    returnOnExit: true,
    stdout: blockingFd(1),
    stderr: blockingFd(2),
  });
  // Each preopen a sandbox (SPEC W6): node:wasi's own checks let a
  // symbolic link inside a directory lead outside it.
  const sandbox = confine(wasi.wasiImport as Record<string, unknown>, options.preopens ?? {});
  return {
    imports: sandbox.imports,
    start: (instance) => {
      sandbox.bind(instance);
      return wasi.start(instance);
    },
    initialize: (instance) => {
      sandbox.bind(instance);
      wasi.initialize(instance);
    },
  };
}

/**
 * The fd the program writes its stdout (1) or stderr (2) to. Once JS code
 * has written to a pipe, Node has made it non-blocking, and the program's
 * plain write() would get EAGAIN on a slow reader and lose bytes (SPEC W4).
 * A pipe is opened again, as a file description of its own that blocks, so
 * the program writes the same with or without JS output beside it.
 */
const reopened = new Map<number, number>();
function blockingFd(fd: number): number {
  const { fstatSync, openSync } = process.getBuiltinModule("node:fs");
  let again = reopened.get(fd);
  if (again === undefined) {
    try {
      again = fstatSync(fd).isFIFO() ? openSync(`/proc/self/fd/${fd}`, "w") : fd;
    } catch {
      again = fd; // no /proc: the fd as it is
    }
    reopened.set(fd, again);
  }
  return again;
}

// node:wasi announces itself as experimental when first loaded; the
// program's stderr belongs to the program, so that one warning is held back.
function loadNodeWasi(): typeof import("node:wasi") {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).startsWith("WASI is an experimental feature")) {
      (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
    }
  }) as typeof process.emitWarning;
  try {
    // Not import(): a bundler for the browser would try to resolve it.
    return process.getBuiltinModule("node:wasi");
  } finally {
    process.emitWarning = emitWarning;
  }
}

async function shimWasi({ WasiError }: WasiKit, args: string[], options: RunWasiOptions): Promise<WasiHost> {
  if (options.preopens && Object.keys(options.preopens).length > 0) {
    throw new WasiError("preopens need node:wasi: browser_wasi_shim has no access to host directories");
  }
  // Imported when used, not with the package: one module fewer to load at start-up (SPEC P4).
  const { importOptional } = await import("./import-optional.js");
  const shim = (await importOptional("@bjorn3/browser_wasi_shim")) as typeof import("@bjorn3/browser_wasi_shim");
  const env = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
  const fds = [
    new shim.OpenFile(new shim.File([])),
    new shim.ConsoleStdout((bytes) => process.stdout.write(bytes)),
    new shim.ConsoleStdout((bytes) => process.stderr.write(bytes)),
  ];
  const wasi = new shim.WASI(args, env, fds, { debug: false });
  return {
    imports: wasi.wasiImport as unknown as Record<string, unknown>,
    start: (instance) => wasi.start(instance as Parameters<typeof wasi.start>[0]),
    initialize: (instance) => wasi.initialize(instance as Parameters<typeof wasi.initialize>[0]),
  };
}
