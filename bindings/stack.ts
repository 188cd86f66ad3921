// The exit stack as JavaScript sees it: what each pending JS registration
// calls, by handle (the values the core cannot hold), over the core that
// keeps their order. The order in which handlers run is decided only by the
// core; nothing here keeps a list of what is pending. The public API
// (runtime.ts) and the drains (drain.ts) go through this class only.
//
// What a registration costs (SPEC P1, P6): a push on `entries`, whose index
// is its handle in the range of records the core reserved; no call into
// Wasm, no index of functions until the first unregister() asks for one.
// The core is loaded, and the registrations made so far linked into its
// stack, when something first needs it: count() during a drain,
// unregister(), a remover, clear(), a guest. Until then a drain takes its
// batches from `entries` (coreless.ts), and what is still pending is handed
// to the core the moment something needs it, even mid-drain.
//
// Invariants, kept by the three setters at the end of the class (the only
// writes of `taken`, `index` and `rangeEnd`):
// - handles [linkedUpTo, entries.length) are registered and not linked into
//   the core yet; [entries.length, rangeEnd) are reserved for the next
//   registrations;
// - while a batch is out (`taken` > 0), every other use of the core settles
//   it first (`core`);
// - register() pushes without add() only while no batch is out and no index
//   is kept, and only up to the range's end (`fastEnd`).

import { loadCore, type CoreExports } from "./core.js";
import { handleAt, handedOut, interruptBatch, type TakenBatch } from "./batch.js";
import { settleCoreless, takeCoreless } from "./coreless.js";
import type { Stack } from "./drain.js";
import { ERR_NO_MEMORY, checkFunction, outOfMemory } from "./errors.js";
import { Guests } from "./guests.js";
import { Call, functionOf, type Entry, type Handler } from "./registration.js";

/** Handles reserved in the core at a time for registrations made without calling it. */
const RANGE = 1024;
/** JS handlers a drain takes from the core at a time: MAX_BATCH, or from MIN_BATCH, doubling, after a handler changed the stack under a batch. */
const MIN_BATCH = 16;
const MAX_BATCH = 1024; // the core's BATCH holds this many

/** Each function with pending registrations → their handles: one, or a Set of several. */
type FunctionIndex = Map<Handler, number | Set<number>>;

// TypeScript's `private`, not `#private`: with ES private members, one of
// a fresh process's first registrations costs several times more (SPEC P1;
// see `npm run bench`).
export class ExitStack implements Stack {
  // The Wasm core, loaded when the stack is first read (see above): importing
  // the package and registering never wait for it (SPEC P4); a drain of JS
  // handlers alone runs without it (coreless.ts).
  private loadedCore: CoreExports | undefined;
  // By handle: what each pending JS registration calls. Index 0 is never a
  // handle. While the range lasts, its length is the next handle in it.
  readonly entries: (Entry | undefined)[] = [undefined];
  // See the invariants above. Before the core is loaded, the range has no
  // end: a fresh core reserves handles from 1 for all the registrations
  // made so far, and RANGE more, when it is loaded.
  private linkedUpTo = 1;
  private rangeEnd = Infinity;
  private rangeSize = RANGE;
  // The batch a drain took: `taken` handles, which the drain calls in order
  // without asking here.
  readonly batch: TakenBatch = { handles: new Int32Array(0), top: 0, entries: this.entries };
  private taken = 0;
  private batchSize = MAX_BATCH;
  private maxBatch = MAX_BATCH;
  // Built at the first unregister(), kept up to date after.
  private index: FunctionIndex | undefined;
  private guestsLinked: Guests | undefined;

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

  constructor() {
    const stack = this;
    const { entries } = this;
    let fastEnd = Infinity;
    this.setFastEnd = (end) => (fastEnd = end);
    // In parentheses, so that V8 compiles it with the constructor, at import,
    // rather than at the first registration, which is then cheaper while
    // import costs no more (see `npm run bench`).
    this.register = (function register(fn, ...args) {
      if (typeof fn !== "function" || args.length !== 0) {
        if (typeof fn !== "function") checkFunction("register", "fn", fn);
        stack.add("register", fn, new Call(fn, args));
      } else if (entries.push(fn) > fastEnd) {
        entries.pop();
        stack.add("register", fn, fn);
      }
      return fn;
    });
  }

  /**
   * The core, for everything but registering and handing out a batch's
   * handlers: first the batch a drain took is settled, and the
   * registrations made since the last call linked, so that every call sees
   * the stack in order (SPEC R6–R8).
   */
  get core(): CoreExports {
    const core = this.loadedCore ?? this.handOver();
    if (this.taken !== 0) this.settleBatch(core);
    // Past the range's end, `entries` may hold handles pushJs gave.
    const registered = Math.min(this.entries.length, this.rangeEnd);
    if (this.linkedUpTo < registered) {
      core.link(registered);
      this.linkedUpTo = registered;
    }
    return core;
  }

  /** The core if it is loaded, as it is: settling nothing (the debug core's abort reads its memory). */
  get loaded(): CoreExports | undefined {
    return this.loadedCore;
  }

  get guests(): Guests {
    return (this.guestsLinked ??= new Guests(() => this.core));
  }

  /** Pending registrations, without loading the core when it is not loaded yet. */
  pending(): number {
    // While a drain's batch is out, only the core counts.
    return this.loadedCore === undefined && this.taken === 0 ? this.entries.length - 1 : this.core.count();
  }

  /** Registers `entry`: a handle from the range, with no call into the core while the range lasts. */
  add(api: string, fn: Handler, entry: Entry): number {
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

  /** Removes every pending registration of `fn`. */
  unregister(fn: Handler): void {
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
  }

  /** Removes the registration under `handle` if it is still `entry`'s (handles are reused). */
  remove(handle: number, entry: Entry): void {
    // A registration in a drain's batch goes back under its handle first.
    if (this.taken !== 0) void this.core;
    if (this.entries[handle] !== entry) return;
    this.core.remove(0, handle);
    if (this.index !== undefined) removeFromIndex(this.index, functionOf(entry), handle);
    this.entries[handle] = undefined;
  }

  clear(): void {
    if (this.pending() === 0) return;
    this.core.clear();
    // Not shortened: its length is the next handle in the range.
    this.entries.fill(undefined);
    this.setIndex(undefined);
  }

  /** Sets the range and batch sizes from the next of each on; for tests that cross their boundaries. */
  resize(range: number, maxBatch: number): void {
    this.rangeSize = range;
    this.maxBatch = Math.min(maxBatch, MAX_BATCH);
    this.batchSize = Math.min(this.batchSize, this.maxBatch);
  }

  /**
   * Drops the core, as if none had been loaded yet, when nothing is pending
   * and no guest was ever created; says whether it could. For the model
   * test, whose sequences then start without the core (coreless.ts).
   */
  forgetCore(): boolean {
    if (this.guestsLinked !== undefined || this.taken !== 0 || this.pending() !== 0) return false;
    this.loadedCore = undefined;
    this.entries.length = 1;
    this.linkedUpTo = 1;
    this.setIndex(undefined);
    this.setRangeEnd(Infinity);
    return true;
  }

  // The stack as drains see it (drain.ts).

  next(stopAtGuests: boolean): number {
    // JS handlers only, so far: no core to load (coreless.ts), unless a
    // handler registered another above the last batch, or unregister()
    // built the index of functions, which a batch must keep up to date.
    const coreless = this.loadedCore === undefined && this.index === undefined;
    if (coreless && (this.taken === 0 || settleCoreless(this.batch) === undefined)) {
      this.settledWithoutCore();
      const taken = takeCoreless(this.batch, this.batchSize);
      this.setTaken(taken);
      return taken;
    }
    return this.nextFromCore(stopAtGuests);
  }

  // next() once the core holds the stack: apart, so that a drain without
  // the core compiles none of it (SPEC P7).
  private nextFromCore(stopAtGuests: boolean): number {
    const core = this.core;
    const taken = core.take(this.batchSize, stopAtGuests ? 1 : 0);
    if (taken <= 0) return taken; // nothing pending, or TOOK_GUEST
    // Read in place: memory cannot grow while the batch is out, as every
    // call that could grow it settles the batch first.
    const { batch, entries } = this;
    batch.handles = new Int32Array(core.memory.buffer, core.batch.value, taken);
    batch.top = core.batchTop.value;
    // The index forgets the batch now; settling puts back what did not run.
    const index = this.index;
    if (index !== undefined) {
      for (let i = 0; i < taken; i++) {
        const handle = handleAt(batch, i);
        removeFromIndex(index, functionOf(entries[handle]!), handle);
      }
    }
    this.setTaken(taken);
    return taken;
  }

  runTaken(): void {
    this.core.runTaken();
  }

  lastGuest(): string {
    return this.guests.describe(this.core.lastGuestSlot.value);
  }

  // The handlers of the batch that the drain called are forgotten; the
  // others go back on the stack, and into the index.
  private settleBatch(core: CoreExports): void {
    const { batch, entries } = this;
    const taken = this.taken;
    const index = this.index;
    const ran = handedOut();
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
    this.setTaken(0);
    interruptBatch();
  }

  // The core is needed, and loaded: every pending JS registration is linked
  // into it, in order. Mid-drain, the batch the drain took without the core
  // is settled first (coreless.ts): the handlers that ran are dropped, or
  // removed from the core once linked.
  private handOver(): CoreExports {
    const ran = this.taken !== 0 ? settleCoreless(this.batch) : undefined;
    // Dropped from the end, the handlers that ran leave nothing to do;
    // else the batch stays out until the core holds them, so that a core
    // that cannot be loaded (out of memory) leaves them handed out.
    if (this.taken !== 0 && ran === undefined) this.settledWithoutCore();
    const core = (this.loadedCore = this.loadCore());
    if (ran !== undefined) {
      this.settledWithoutCore();
      core.link(this.entries.length);
      this.linkedUpTo = this.entries.length;
      for (let handle = ran; handle <= this.batch.top; handle++) {
        core.remove(0, handle);
        this.entries[handle] = undefined;
      }
    }
    return core;
  }

  // A batch taken without the core is settled: a drain holding it takes another.
  private settledWithoutCore(): void {
    this.setTaken(0);
    interruptBatch();
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
    this.setRangeEnd(1 + records);
    return core;
  }

  // The range is used up: links it, and reserves the next one, or
  // registers in a freed record while the core has some.
  private pushOne(api: string): number {
    const core = this.core;
    const start = core.reserve(this.rangeSize);
    if (start > 0) {
      this.linkedUpTo = start;
      this.setRangeEnd(start + this.rangeSize);
      return start;
    }
    const handle = core.pushJs();
    if (handle < 0) throw outOfMemory(api, core.count());
    return handle;
  }

  private functionIndex(): FunctionIndex {
    if (this.index === undefined) {
      const index: FunctionIndex = new Map();
      const { entries } = this;
      for (let handle = 1; handle < entries.length; handle++) {
        const entry = entries[handle];
        if (entry !== undefined) addToIndex(index, functionOf(entry), handle);
      }
      this.setIndex(index);
    }
    return this.index!;
  }

  // The only writes of `taken`, `index` and `rangeEnd`: each keeps
  // register()'s `fastEnd` what the invariant above says.
  private setTaken(taken: number): void {
    this.taken = taken;
    this.updateFastEnd();
  }

  private setIndex(index: FunctionIndex | undefined): void {
    this.index = index;
    this.updateFastEnd();
  }

  private setRangeEnd(end: number): void {
    this.rangeEnd = end;
    this.updateFastEnd();
  }

  private updateFastEnd(): void {
    this.setFastEnd(this.taken === 0 && this.index === undefined ? this.rangeEnd : 0);
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
