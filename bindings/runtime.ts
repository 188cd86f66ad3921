// The JavaScript side of one thread's exit stack: what each registration
// calls, by handle (the values the core cannot hold), and the API over the
// core. The order in which handlers run is decided only by the core; nothing
// here keeps a list of what is pending. Drains run in drain.ts; when they
// run, and how the program then ends, is shutdown.ts's policy.
//
// What a registration costs (SPEC P1, P6): a push on `entries`, whose index
// is its handle in the range of records the core reserved; no call into
// Wasm, no index of functions until the first unregister() asks for one.
// The core is loaded, and the registrations made so far linked into its
// stack, when something first reads the stack: a drain, count(),
// unregister(), a guest.

import { instantiateWithLoader, loadCore, type CoreExports, type LoadedModule } from "./core.js";
import { Call, ExitRequest, functionOf, handleAt, handedOut, interruptBatch, type Entry, type Handler, type Stack, type TakenBatch } from "./drain.js";
import { ERR_NO_MEMORY, checkFunction, outOfMemory } from "./errors.js";
import { DISPOSE } from "./globals.js";
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

/** Makes `undo` a Remover: idempotent, and Disposable for `using`. */
function remover(undo: () => void): Remover {
  const remove = (() => undo()) as Remover;
  remove[DISPOSE as typeof Symbol.dispose] = remove;
  return remove;
}

/** Handles reserved in the core at a time for registrations made without calling it. */
const RANGE = 1024;
/** JS handlers a drain takes from the core at a time: MAX_BATCH, or from MIN_BATCH, doubling, after a handler changed the stack under a batch. */
const MIN_BATCH = 16;
const MAX_BATCH = 1024; // the core's BATCH holds this many

/** Each function with pending registrations → their handles: one, or a Set of several. */
type FunctionIndex = Map<Handler, number | Set<number>>;

export class Runtime implements Stack {
  // The Wasm core, loaded when the stack is first read (see above): importing
  // the package and registering never wait for it (SPEC P4).
  private loaded: CoreExports | undefined;
  // By handle: what each pending JS registration calls. Index 0 is never a
  // handle. While the range below lasts, its length is the next handle in it.
  private readonly entries: (Entry | undefined)[] = [undefined];
  // Handles [linkedUpTo, entries.length) are registered and not linked into
  // the core's stack yet; [entries.length, rangeEnd) are reserved for the
  // next registrations. Before the core is loaded, the range has no end: a
  // fresh core reserves handles from 1 for all the registrations made so
  // far, and RANGE more, when it is loaded.
  private linkedUpTo = 1;
  private rangeEnd = Infinity;
  private rangeSize = RANGE;
  // The batch a drain took: `taken` handles, which the drain calls in order
  // without asking here. Any other use of the core settles it first.
  readonly batch: TakenBatch = { handles: new Int32Array(0), top: 0, entries: this.entries };
  private taken = 0;
  private batchSize = MAX_BATCH;
  private maxBatch = MAX_BATCH;
  // Built at the first unregister(), kept up to date after.
  private index: FunctionIndex | undefined;
  private guestsLinked: Guests | undefined;
  readonly reports = new Reports();
  readonly policy: Shutdown;

  /**
   * register()'s common case, a function with no arguments, is a push and
   * a comparison: the push's new length may reach `fastEnd`, which is the
   * range's end while nothing else needs to see a registration (no batch
   * out, no index), else 0. Its state is in this closure, not in
   * properties: in the interpreter, which runs a short program's
   * registrations, a property read costs more than a closure's (SPEC P1;
   * see `npm run bench`).
   */
  readonly register: <F extends Handler>(fn: F, ...args: Parameters<F>) => F;
  private readonly setFastEnd: (end: number) => void;

  constructor(readonly host: Host) {
    this.policy = new Shutdown(this, host, this.reports);
    const runtime = this;
    const { entries } = this;
    let fastEnd = Infinity;
    this.setFastEnd = (end) => (fastEnd = end);
    // In parentheses, so that V8 compiles it with the constructor, at import,
    // rather than at the first registration, which is then cheaper while
    // import costs no more (see `npm run bench`).
    this.register = (function register(fn, ...args) {
      if (typeof fn !== "function" || args.length !== 0) {
        if (typeof fn !== "function") checkFunction("register", "fn", fn);
        runtime.add("register", fn, new Call(fn, args));
      } else if (entries.push(fn) > fastEnd) {
        entries.pop();
        runtime.add("register", fn, fn);
      }
      return fn;
    });
  }

  // Whether register() may push without add(): see `register`.
  private updateFastEnd(): void {
    this.setFastEnd(this.taken === 0 && this.index === undefined ? this.rangeEnd : 0);
  }

  /**
   * The core, for everything but registering and handing out a batch's
   * handlers: first the batch a drain took is settled, and the
   * registrations made since the last call linked, so that every call sees
   * the stack in order (SPEC R6–R8).
   */
  private get core(): CoreExports {
    const core = (this.loaded ??= this.loadCore());
    if (this.taken !== 0) this.settleBatch(core);
    // Past the range's end, `entries` may hold handles pushJs gave.
    const registered = Math.min(this.entries.length, this.rangeEnd);
    if (this.linkedUpTo < registered) {
      core.link(registered);
      this.linkedUpTo = registered;
    }
    return core;
  }

  // The handlers of the batch that the drain called are forgotten; the
  // others go back on the stack, and into the index.
  private settleBatch(core: CoreExports): void {
    const { batch, taken, index, entries } = this;
    const ran = handedOut;
    if (batch.top !== 0) entries.fill(undefined, batch.top - ran + 1, batch.top + 1);
    else for (let i = 0; i < ran; i++) entries[batch.handles[i]] = undefined;
    if (index !== undefined) {
      for (let i = ran; i < taken; i++) {
        const handle = handleAt(batch, i);
        addToIndex(index, functionOf(entries[handle]!), handle);
      }
    }
    // A batch given back early was changed under it: start small again.
    this.batchSize = ran < taken ? MIN_BATCH : Math.min(this.batchSize * 2, this.maxBatch);
    core.settle(ran);
    this.taken = 0;
    interruptBatch();
    this.updateFastEnd();
  }

  private loadCore(): CoreExports {
    const core = loadCore();
    const registered = this.entries.length - 1;
    const records = registered + this.rangeSize;
    const start = core.reserve(records);
    if (start !== 1) {
      if (start === ERR_NO_MEMORY) {
        throw new RangeError(`wasm-atexit: the core is out of memory: it cannot hold the ${registered} handlers registered before it was loaded`);
      }
      throw new Error(`wasm-atexit: internal error: a fresh core reserved its first range at ${start}`);
    }
    this.rangeEnd = 1 + records;
    this.updateFastEnd();
    return core;
  }

  private get guests(): Guests {
    return (this.guestsLinked ??= new Guests(() => this.core));
  }

  /** Pending registrations, without loading the core when it is not loaded yet. */
  pending(): number {
    return this.loaded === undefined ? this.entries.length - 1 : this.core.count();
  }

  unregister = (fn: Handler): void => {
    checkFunction("unregister", "fn", fn);
    if (this.pending() === 0) return;
    const index = this.functionIndex();
    const handles = index.get(fn);
    if (handles === undefined) return;
    index.delete(fn);
    const core = this.core;
    for (const handle of typeof handles === "number" ? [handles] : handles) {
      core.remove(0, handle);
      this.entries[handle] = undefined;
    }
  };

  onExit = (cb: ExitCallback): Remover => {
    checkFunction("onExit", "cb", cb);
    const call = new Call(cb, null);
    const handle = this.add("onExit", cb, call);
    return remover(() => {
      // A registration in a drain's batch goes back under its handle first.
      if (this.taken !== 0) this.settleBatch(this.loaded!);
      // The handle is this registration's only while it holds this call (handles are reused).
      if (this.entries[handle] !== call) return;
      this.core.remove(0, handle);
      this.forget(handle);
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

  clear = (): void => {
    if (this.pending() === 0) return;
    this.core.clear();
    // Not shortened: its length is the next handle in the range.
    this.entries.fill(undefined);
    this.index = undefined;
    this.updateFastEnd();
  };

  count = (): number => this.pending();

  exitNow = (code = 0): never => this.host.exitNow(code);

  /** What a guest's exit() throws during a drain: an exit request (R10). For wasm-atexit/pyodide and wasi-run.ts; not public API. */
  exitRequest(code: number): unknown {
    return new ExitRequest(code);
  }

  /** The core, for tests and the benchmark; not part of the public API. */
  get internals(): CoreExports {
    return this.core;
  }

  /** Sets the range and batch sizes from the next of each on; for tests that cross their boundaries, not public API. */
  resize(range: number, maxBatch: number): void {
    this.rangeSize = range;
    this.maxBatch = Math.min(maxBatch, MAX_BATCH);
    this.batchSize = Math.min(this.batchSize, this.maxBatch);
  }

  // The stack as drains see it (drain.ts).

  next(stopAtGuests: boolean): number {
    // Nothing was ever registered: no core to load for an empty drain.
    if (this.loaded === undefined && this.entries.length === 1) return 0;
    const core = this.core;
    const taken = core.take(this.batchSize, stopAtGuests ? 1 : 0);
    if (taken <= 0) return taken; // nothing pending, or TOOK_GUEST
    // Read in place: memory cannot grow while the batch is out, as every
    // call that could grow it settles the batch first.
    const { batch, entries, index } = this;
    batch.handles = new Int32Array(core.memory.buffer, core.batch.value, taken);
    batch.top = core.batchTop.value;
    // The index forgets the batch now; settling puts back what did not run.
    if (index !== undefined) {
      for (let i = 0; i < taken; i++) {
        const handle = handleAt(batch, i);
        removeFromIndex(index, functionOf(entries[handle]!), handle);
      }
    }
    this.taken = taken;
    this.updateFastEnd();
    return taken;
  }

  runTaken(): void {
    this.core.runTaken();
  }

  lastGuest(): string {
    return this.guests.describe(this.core.lastGuestSlot.value);
  }

  /** Registers `entry`: a handle from the range, with no call into the core while the range lasts. */
  private add(api: string, fn: Handler, entry: Entry): number {
    const { entries } = this;
    let handle = entries.length;
    if (handle >= this.rangeEnd) {
      handle = this.pushOne(api);
      // A handle past the end (a new range above guests' records, or a
      // guest's record freed and reused): filled up to one by one, as a
      // store far past the end would turn `entries` into a dictionary.
      while (entries.length < handle) entries.push(undefined);
    }
    entries[handle] = entry;
    // A drain's batch must not run before this registration (R6).
    interruptBatch();
    if (this.index !== undefined) addToIndex(this.index, fn, handle);
    return handle;
  }

  // The range is used up: links it, and reserves the next one, or
  // registers in a freed record while the core has some.
  private pushOne(api: string): number {
    const core = this.core;
    const start = core.reserve(this.rangeSize);
    if (start > 0) {
      this.linkedUpTo = start;
      this.rangeEnd = start + this.rangeSize;
      this.updateFastEnd();
      return start;
    }
    const handle = core.pushJs();
    if (handle < 0) throw outOfMemory(api, core.count());
    return handle;
  }

  // Forgets a registration that ran or was removed.
  private forget(handle: number): void {
    if (this.index !== undefined) removeFromIndex(this.index, functionOf(this.entries[handle]!), handle);
    this.entries[handle] = undefined;
  }

  private functionIndex(): FunctionIndex {
    if (this.index === undefined) {
      const index: FunctionIndex = new Map();
      const { entries } = this;
      for (let handle = 1; handle < entries.length; handle++) {
        const entry = entries[handle];
        if (entry !== undefined) addToIndex(index, functionOf(entry), handle);
      }
      this.index = index;
      this.updateFastEnd();
    }
    return this.index;
  }
}

function addToIndex(index: FunctionIndex, fn: Handler, handle: number): void {
  const handles = index.get(fn);
  if (handles === undefined) index.set(fn, handle);
  else if (typeof handles === "number") index.set(fn, new Set([handles, handle]));
  else handles.add(handle);
}

function removeFromIndex(index: FunctionIndex, fn: Handler, handle: number): void {
  const handles = index.get(fn);
  if (handles === handle) index.delete(fn);
  else if (typeof handles === "object") {
    handles.delete(handle);
    if (handles.size === 0) index.delete(fn);
  }
}
