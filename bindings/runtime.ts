// The public API over the exit stack (stack.ts) and the shutdown policy
// (shutdown.ts): each function checks its arguments, then asks one of them.
// Built with its stack and policy where the host is chosen (hosts.ts).

import { instantiateWithLoader, startLoader, type CoreExports, type LoadedModule } from "./core.js";
import { checkFunction } from "./errors.js";
import { ExitRequest } from "./exit-request.js";
import { DISPOSE } from "./globals.js";
import { Guest, missingFlag, type GuestOptions } from "./guests.js";
import { Call, type Handler } from "./registration.js";
import { describe, type ReportOptions, type Reports } from "./report.js";
import type { Host, Shutdown, ShutdownOptions, SignalOptions } from "./shutdown.js";
import type { ExitStack } from "./stack.js";

export type { Handler } from "./registration.js";
/** The exit code, the signal's name (or null), and the uncaught error that ends the program, if one does (SPEC H4). */
export type ExitCallback = (code: number, signal: string | null, reason?: unknown) => unknown;
/**
 * Removes one `onExit` registration (or undoes one handleSignals call);
 * calling it again does nothing. Disposable too (`using`), where the
 * project's lib knows `Symbol.dispose`.
 */
export type Remover = (() => void) & DisposeMethod;
// Typed without lib esnext.disposable or @types/node: `[Symbol.dispose]`
// where SymbolConstructor has it, nothing where it does not.
type DisposeMethod = SymbolConstructor extends { readonly dispose: infer S extends symbol } ? { [K in S]: () => void } : unknown;
// WebAssembly.Module and Response, where the project's lib (dom, or @types/node) declares them.
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : never;
type FetchResponse = typeof globalThis extends { Response: { prototype: infer R } } ? R : never;
/** What `instantiate` accepts: Wasm bytes, a compiled WebAssembly.Module, or a fetch Response (or a promise of one). */
export type WasmSource = ArrayBuffer | ArrayBufferView | WasmModule | FetchResponse | PromiseLike<ArrayBuffer | ArrayBufferView | WasmModule | FetchResponse>;
/**
 * `S` when it is a WasmSource, else never. WebAssembly.Module is an empty
 * interface, which every object matches; an object with properties of its
 * own (`{ whatever: true }`) is not a Module.
 */
export type CheckedSource<S> = S extends ArrayBuffer | ArrayBufferView | FetchResponse | PromiseLike<unknown>
  ? S
  : S extends WasmModule
    ? [keyof S] extends [never]
      ? S
      : never
    : never;
/** A WASI implementation whose imports a guest gets: node:wasi's WASI, or @bjorn3/browser_wasi_shim's. */
export interface WasiLike {
  wasiImport: object;
  initialize(instance: object): void;
}

export interface InstantiateOptions extends GuestOptions {
  /**
   * The module's WASI (SPEC G9): supplies `wasi_snapshot_preview1`, and
   * initialises the module through it, as node:wasi requires of a reactor.
   */
  wasi?: WasiLike;
}

function wasiOf(wasi: unknown): WasiLike {
  const w = wasi as Partial<WasiLike> | null;
  if (typeof w !== "object" || w === null || typeof w.wasiImport !== "object" || typeof w.initialize !== "function") {
    throw new TypeError(
      `wasm-atexit: instantiate: wasi must be a WASI from node:wasi or @bjorn3/browser_wasi_shim (with wasiImport and initialize), got ${describe(wasi)}`,
    );
  }
  return w as WasiLike;
}

/** What `instantiate` returns: the WebAssembly.Module and Instance, the loader's exports, the guest. */
export interface Instantiated<E extends object = Record<string, unknown>> extends LoadedModule<E> {
  guest: Guest;
}

export interface DisposeOptions {
  /** Run the guest's pending handlers now (default), or drop them unrun. */
  run?: boolean;
}

/** Makes `undo` a Remover: idempotent, and Disposable for `using`. */
function remover(undo: () => void): Remover {
  const remove = (() => undo()) as Remover;
  remove[DISPOSE as typeof Symbol.dispose] = remove;
  return remove;
}

export class Runtime {
  /** register(): the stack's own, whose common case is a push (stack.ts). */
  readonly register: ExitStack["register"];

  constructor(
    private readonly stack: ExitStack,
    /** The shutdown policy; for wasi-run.ts, not public API. */
    readonly policy: Shutdown,
    private readonly reports: Reports,
    private readonly host: Host,
  ) {
    this.register = stack.register;
  }

  unregister = (fn: Handler): void => {
    checkFunction("unregister", "fn", fn);
    this.stack.unregister(fn);
  };

  onExit = (cb: ExitCallback): Remover => {
    checkFunction("onExit", "cb", cb);
    const call = new Call(cb, null);
    const handle = this.stack.add("onExit", cb, call);
    return remover(() => this.stack.remove(handle, call));
  };

  runExitHandlers = (): void => this.policy.runNow();

  shutdown = (code?: number, options: ShutdownOptions = {}): Promise<never> => this.policy.shutdown(code, options);

  handleSignals = (options: SignalOptions = {}): Remover => remover(this.policy.handleSignals(options));

  configureReports = (options?: ReportOptions): void => this.reports.configure(options);

  createGuest = (options?: GuestOptions): Guest => this.stack.guests.create(options);

  instantiate = async <E extends object = Record<string, unknown>, S extends WasmSource = WasmSource>(
    source: S & CheckedSource<S>,
    imports: Record<string, unknown> = {},
    options: InstantiateOptions = {},
  ): Promise<Instantiated<E>> => {
    const { wasi, ...guestOptions } = options;
    const wasiHost = wasi === undefined ? undefined : wasiOf(wasi);
    // Before the guest's creation, which may load the core: the loader's
    // import then overlaps that and the guest's compilation (SPEC P4).
    startLoader();
    const guest = this.stack.guests.create(guestOptions);
    const linked = { ...imports, ...(wasiHost && { wasi_snapshot_preview1: wasiHost.wasiImport }), ...guest.imports };
    try {
      const loaded = await instantiateWithLoader<E>(source, linked);
      const exports = loaded.instance.exports as Record<string, unknown>;
      guest.attach({ exports });
      const lacking = missingFlag(guest, loaded.module);
      if (lacking) throw new TypeError(`wasm-atexit: instantiate: ${lacking}`);
      // A reactor's initialiser (C's constructors, an AssemblyScript module
      // built with --exportStart _initialize) runs once the table is
      // attached, so that it can register; a WASI one through its WASI,
      // which must bind the module's memory first (SPEC G9).
      const initialize = exports._initialize;
      if (wasiHost) wasiHost.initialize(loaded.instance);
      else if (typeof initialize === "function") initialize();
      return { ...loaded, guest };
    } catch (err) {
      // A failed instantiation leaves nothing registered (SPEC G6).
      this.dispose(guest, { run: false });
      throw err;
    }
  };

  dispose = (guest: Guest, options: DisposeOptions = {}): void => {
    if (!(guest instanceof Guest)) {
      throw new TypeError(`wasm-atexit: dispose: guest must be a Guest from instantiate or createGuest, got ${describe(guest)}`);
    }
    if (!guest.markDisposed()) return;
    const { stack } = this;
    this.policy.runGuestsNow((drain) => {
      for (;;) {
        try {
          stack.core.disposeOwner(guest.owner, options.run === false ? 0 : 1);
          break;
        } catch (err) {
          drain.settle(stack.lastGuest(), err); // a trap: go on with the rest
        }
      }
    });
    stack.guests.release(guest);
  };

  clear = (): void => this.stack.clear();

  count = (): number => this.stack.pending();

  exitNow = (code = 0): never => this.host.exitNow(code);

  /** What a guest's exit() throws during a drain: an exit request (R10). For wasm-atexit/pyodide and wasi-run.ts; not public API. */
  exitRequest(code: number): unknown {
    return new ExitRequest(code);
  }

  /** Writes `line()` to the trace when tracing is on (WASM_ATEXIT_TRACE). For wasm-atexit/emscripten; not public API. */
  trace(line: () => string): void {
    if (this.host.tracing()) this.reports.trace(line());
  }

  // For tests and the benchmark; not part of the public API.

  /** The core, settled and linked. */
  get internals(): CoreExports {
    return this.stack.core;
  }

  /** The core as it is, if loaded (tests/debug-core.mjs reads its memory in an assertion). */
  get loaded(): CoreExports | undefined {
    return this.stack.loaded;
  }

  /** What pending JS registrations call, by handle. */
  get entries(): readonly unknown[] {
    return this.stack.entries;
  }

  /** Drops the core when nothing needs it, so that the next drain starts without one; for the model test. */
  forgetCore(): boolean {
    return this.stack.forgetCore();
  }

  /** Sets the range and batch sizes from the next of each on, for tests that cross their boundaries. */
  resize(range: number, maxBatch: number): void {
    this.stack.resize(range, maxBatch);
  }
}
