// The JavaScript side of one thread's exit stack: the slot tables for the
// values the core cannot hold, and the API over the core. The order in which
// handlers run is decided only by the core; nothing here keeps a list of
// what is pending. Drains run in drain.ts; when they run, and how the
// program then ends, is shutdown.ts's policy.

import { instantiateWithLoader, loadCore, type CoreExports, type LoadedModule } from "./core.js";
import { ExitInfo, ExitRequest, NO_ARGS, type Handler, type Stack } from "./drain.js";
import { checkFunction, outOfMemory } from "./errors.js";
import { Guest, Guests, missingFlag, type GuestOptions } from "./guests.js";
import { Reports, describe, type ReportOptions } from "./report.js";
import { Shutdown, type Host, type ShutdownOptions, type SignalOptions } from "./shutdown.js";

export type { Handler } from "./drain.js";
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
type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : never;
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

const dispose: symbol = Symbol.dispose ?? Symbol.for("nodejs.dispose");

/** Makes `undo` a Remover: idempotent, and Disposable for `using`. */
function remover(undo: () => void): Remover {
  const remove = (() => undo()) as Remover;
  remove[dispose as typeof Symbol.dispose] = remove;
  return remove;
}

export class Runtime implements Stack {
  // The Wasm core, loaded at the first call that needs it: importing the
  // package then only installs the host's listeners (SPEC P4).
  private loaded: CoreExports | undefined;
  // By handle: the function of each pending registration, its key, and what
  // it is called with.
  private readonly handlerAt: (Handler | undefined)[] = [];
  private readonly keyAt: number[] = [];
  private readonly argsAt: (readonly unknown[] | ExitInfo | undefined)[] = [];
  // The core's key for each function with pending registrations. Entries
  // are never deleted (deleting makes a Map reallocate as it shrinks, which
  // dominated the drain at exit): a key is valid only while `functionOfKey`
  // (indexed by key) names the same function, and a WeakMap keeps no
  // function alive.
  private readonly keyOf = new WeakMap<Handler, number>();
  private readonly functionOfKey: (Handler | undefined)[] = [];
  private guestsLinked: Guests | undefined;
  readonly reports = new Reports();
  readonly policy: Shutdown;

  constructor(readonly host: Host) {
    this.policy = new Shutdown(this, host, this.reports);
  }

  private get core(): CoreExports {
    return (this.loaded ??= loadCore({ released: (handle, lastOfFunction) => this.release(handle, lastOfFunction !== 0) }));
  }

  private get guests(): Guests {
    return (this.guestsLinked ??= new Guests(this.core));
  }

  /** Pending registrations, without loading the core when nothing was ever registered. */
  pending(): number {
    return this.loaded === undefined ? 0 : this.loaded.count();
  }

  register = <F extends Handler>(fn: F, ...args: Parameters<F>): F => {
    checkFunction("register", "fn", fn);
    this.push("register", fn, args.length === 0 ? NO_ARGS : args);
    return fn;
  };

  unregister = (fn: Handler): void => {
    checkFunction("unregister", "fn", fn);
    const key = this.keyOf.get(fn);
    if (key === undefined || this.functionOfKey[key] !== fn) return;
    this.core.removeAll(key);
    this.functionOfKey[key] = undefined;
  };

  onExit = (cb: ExitCallback): Remover => {
    checkFunction("onExit", "cb", cb);
    const token = new ExitInfo();
    const handle = this.push("onExit", cb, token);
    return remover(() => {
      if (this.argsAt[handle] === token) this.core.remove(0, handle);
    });
  };

  runExitHandlers = (): void => this.policy.runNow();

  shutdown = (code?: number, options: ShutdownOptions = {}): Promise<never> => this.policy.shutdown(code, options);

  handleSignals = (options: SignalOptions = {}): Remover => remover(this.policy.handleSignals(options));

  configureReports = (options?: ReportOptions): void => this.reports.configure(options);

  createGuest = (options?: GuestOptions): Guest => this.guests.create(options);

  instantiate = async <E extends object = Record<string, unknown>, S extends WasmSource = WasmSource>(
    source: S & CheckedSource<S>,
    imports: Record<string, unknown> = {},
    options: InstantiateOptions = {},
  ): Promise<Instantiated<E>> => {
    const { wasi, ...guestOptions } = options;
    const wasiHost = wasi === undefined ? undefined : wasiOf(wasi);
    const guest = this.guests.create(guestOptions);
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
    if (guest.disposed) return;
    guest.disposed = true;
    this.policy.runGuestsNow((drain) => {
      for (;;) {
        try {
          this.core.disposeOwner(guest.owner, options.run === false ? 0 : 1);
          break;
        } catch (err) {
          drain.settle(this.lastGuest(), err); // a trap: go on with the rest
        }
      }
    });
    this.guests.release(guest);
  };

  clear = (): void => this.loaded?.clear();

  count = (): number => this.pending();

  exitNow = (code = 0): never => this.host.exitNow(code);

  /** What a guest's exit() throws during a drain: an exit request (R10). For wasm-atexit/pyodide; not public API. */
  exitRequest(code: number): unknown {
    return new ExitRequest(code);
  }

  /** The core, for tests and the benchmark; not part of the public API. */
  get internals(): CoreExports {
    return this.core;
  }

  // The stack as drains see it (drain.ts).

  next(stopAtGuests: boolean): number {
    return this.loaded === undefined ? 0 : this.loaded.next(stopAtGuests ? 1 : 0);
  }

  takeJs(next: number): { fn: Handler; call: readonly unknown[] | ExitInfo } {
    const handle = next < 0 ? -next : next;
    const fn = this.handlerAt[handle]!;
    const call = this.argsAt[handle]!;
    this.release(handle, next < 0);
    return { fn, call };
  }

  runTaken(): void {
    this.core.runTaken();
  }

  lastGuest(): string {
    return this.guests.describe(this.core.lastGuestSlot.value);
  }

  private push(api: string, fn: Handler, call: readonly unknown[] | ExitInfo): number {
    let key = this.keyOf.get(fn);
    if (key !== undefined && this.functionOfKey[key] !== fn) key = undefined;
    const handle = this.core.pushJs(key ?? 0);
    if (handle < 0) throw outOfMemory(api, this.core.count());
    if (key === undefined) {
      key = handle;
      this.keyOf.set(fn, key);
      this.functionOfKey[key] = fn;
    }
    this.handlerAt[handle] = fn;
    this.keyAt[handle] = key;
    this.argsAt[handle] = call;
    return handle;
  }

  // Forgets a registration's values, and its function once none is left.
  private release(handle: number, lastOfFunction: boolean): void {
    if (lastOfFunction) this.functionOfKey[this.keyAt[handle]] = undefined;
    this.handlerAt[handle] = undefined;
    this.argsAt[handle] = undefined;
  }
}
