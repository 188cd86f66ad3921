// Wasm guests (SPEC G1–G7, docs/ABI.md). Each module that imports `atexit`
// is an owner of its own in the core. This file builds a guest's import
// object, attaches its function table, checks each handler before it reaches
// the core, and copies guest functions into the core's table, from which the
// core calls them directly.

import type { CoreExports, FunctionTable } from "./core.js";
import {
  ERR_BAD_INDEX,
  ERR_BAD_SIGNATURE,
  ERR_DISPOSED,
  ERR_NO_TABLE,
  ERR_QUOTA,
  checkInteger,
} from "./errors.js";
import { describe } from "./report.js";

/** Registrations a guest may have pending unless its options say otherwise (SPEC G6). */
export const DEFAULT_QUOTA = 65536;
const MAX_QUOTA = 2 ** 28;

export interface GuestOptions {
  /** Names the guest in failure reports; default "guest 1", "guest 2", … */
  name?: string;
  /** The most registrations the guest may have pending (default DEFAULT_QUOTA). */
  quota?: number;
}

/** The `atexit` import module a guest is linked with (docs/ABI.md). */
export interface AtexitImports {
  register(fn: number, arg: number): number;
  /**
   * Queues libwasm-atexit's trampoline, `wasm_atexit_call(entry)`, found in
   * the guest's table at `trampoline` or else as its export: what the
   * library's atexit() and __cxa_atexit() use (SPEC G8).
   */
  register_call(trampoline: number, entry: number): number;
  unregister(handle: number): number;
  count(): number;
}

/** A guest function copied into the core's table, and whose it is (kept after release, for reports). */
interface Slot {
  guest: Guest;
  /** The guest's table index, or -1 for its exported wasm_atexit_call. */
  index: number;
  fn: Function;
  takesArg: boolean;
}

/** One linked Wasm module: an owner of its own on the shared stack. */
export class Guest {
  /** Pass as the module's imports: `{ ...yours, ...guest.imports }`. */
  readonly imports: { atexit: AtexitImports };
  table: FunctionTable | undefined;
  /**
   * libwasm-atexit's exported trampoline, for a reactor that exports no
   * table (a command's exports are wrapped in calls of its constructors).
   */
  call: Function | undefined;
  attached = false;
  #disposed = false;
  /** Registrations refused because the table was not attached yet: a start function registered. */
  refusedBeforeAttach = 0;
  // Each guest function registered → its slot in the core's table. Keyed by
  // the function, not its table index, so that a guest rewriting its table
  // reuses slots: it holds at most one per distinct function, and no more
  // than its quota (SPEC G6).
  readonly slotOf = new Map<Function, number>();

  constructor(
    readonly name: string,
    readonly owner: number,
    readonly quota: number,
    guests: Guests,
  ) {
    this.imports = {
      atexit: {
        register: (fn, arg) => guests.register(this, fn, arg),
        register_call: (trampoline, entry) => guests.registerCall(this, trampoline, entry),
        // Another owner's handle answers as a missing one (SPEC G3).
        unregister: (handle) => (this.disposed ? ERR_DISPOSED : guests.core.remove(this.owner, handle)),
        count: () => (this.disposed ? 0 : guests.core.countOf(this.owner)),
      },
    };
  }

  /** Whether dispose() has ended the guest: from then on its registrations are refused. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Ends the guest (dispose() runs or drops what it has pending); false when it had ended already. */
  markDisposed(): boolean {
    if (this.#disposed) return false;
    this.#disposed = true;
    return true;
  }

  /**
   * Attaches the instance's function table (`__indirect_function_table` from
   * C and Rust with --export-table, `table` from AssemblyScript with
   * --exportTable) and libwasm-atexit's trampoline. Until then, `register`
   * answers ERR_NO_TABLE.
   */
  attach(instance: { exports: Record<string, unknown> }): void {
    const { exports } = instance;
    const table = exports.__indirect_function_table ?? exports.table;
    if (table instanceof WebAssembly.Table) this.table = table as unknown as FunctionTable;
    if (typeof exports.wasm_atexit_call === "function" && typeof exports._start !== "function") this.call = exports.wasm_atexit_call;
    this.attached = true;
  }
}

export class Guests {
  private created = 0;
  // By slot of the core's table: what was copied there. A released slot
  // keeps its record (so that a trap right after a guest disposed of itself
  // is still blamed on it) until the slot is given again.
  private readonly slots: (Slot | undefined)[] = [];
  private readonly freeSlots: number[] = [];

  /** `core` settles a drain's batch and links pending registrations before each use (stack.ts). */
  constructor(private readonly coreInOrder: () => CoreExports) {}

  get core(): CoreExports {
    return this.coreInOrder();
  }

  create(options: GuestOptions = {}): Guest {
    const name = options.name ?? `guest ${this.created + 1}`;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`wasm-atexit: createGuest: name must be a non-empty string, got ${describe(name)}`);
    }
    const quota = options.quota ?? DEFAULT_QUOTA;
    checkInteger("createGuest", "quota", quota, 1, MAX_QUOTA);
    const owner = this.core.newOwner(quota);
    if (owner < 0) throw new RangeError(`wasm-atexit: createGuest: the core is out of memory`);
    this.created++;
    return new Guest(name, owner, quota, this);
  }

  /** The guest's `atexit.register(fn, arg)`: checks, then registers in the core. */
  register(guest: Guest, index: number, arg: number): number {
    if (guest.disposed) return ERR_DISPOSED;
    const table = guest.table;
    if (!table) return this.refuseUnattached(guest);
    if (!Number.isInteger(index) || index < 0 || index >= table.length) return ERR_BAD_INDEX;
    let fn: Function | null;
    try {
      fn = table.get(index);
    } catch {
      return ERR_BAD_INDEX; // not a funcref table
    }
    if (typeof fn !== "function") return ERR_BAD_INDEX;
    return this.push(guest, index, fn, arg, undefined);
  }

  /**
   * The guest's `atexit.register_call(trampoline, entry)`: libwasm-atexit's
   * trampoline, from the guest's table when it exports one, else its export.
   */
  registerCall(guest: Guest, trampoline: number, entry: number): number {
    if (guest.table) return this.register(guest, trampoline, entry);
    if (guest.disposed) return ERR_DISPOSED;
    if (!guest.call) return this.refuseUnattached(guest);
    return this.push(guest, -1, guest.call, entry, true);
  }

  private refuseUnattached(guest: Guest): number {
    if (!guest.attached) guest.refusedBeforeAttach++;
    return ERR_NO_TABLE;
  }

  private push(guest: Guest, index: number, fn: Function, arg: number, takesArg: boolean | undefined): number {
    let slot = guest.slotOf.get(fn);
    if (slot === undefined) {
      takesArg ??= fits(TAKES_I32, fn) ? true : fits(TAKES_NOTHING, fn) ? false : undefined;
      if (takesArg === undefined) return ERR_BAD_SIGNATURE;
      if (guest.slotOf.size >= guest.quota && !this.releaseUnusedSlot(guest)) return ERR_QUOTA;
      slot = this.freeSlots.pop() ?? this.core.table.length;
      try {
        if (slot === this.core.table.length) this.core.table.grow(1, fn);
        else this.core.table.set(slot, fn);
      } catch {
        // Only Wasm functions go into a table: a JS function a guest put in its own is refused.
        if (slot < this.core.table.length) this.freeSlots.push(slot);
        return ERR_BAD_SIGNATURE;
      }
      this.slots[slot] = { guest, index, fn, takesArg };
      guest.slotOf.set(fn, slot);
    }
    return this.core.pushGuest(guest.owner, slot, arg | 0, this.slots[slot]!.takesArg ? 1 : 0);
  }

  /**
   * A guest holds one slot per distinct function, at most its quota. At
   * the quota, a new function takes the slot of one with nothing pending;
   * there is one whenever the guest is under its quota of registrations.
   */
  private releaseUnusedSlot(guest: Guest): boolean {
    if (this.core.countOf(guest.owner) >= guest.quota) return false;
    for (const [fn, slot] of guest.slotOf) {
      if (this.core.slotPending(guest.owner, slot)) continue;
      guest.slotOf.delete(fn);
      this.core.table.set(slot, null);
      this.freeSlots.push(slot);
      return true;
    }
    return false;
  }

  /** Frees the core's table slots of a disposed guest. */
  release(guest: Guest): void {
    for (const slot of guest.slotOf.values()) {
      this.core.table.set(slot, null);
      this.freeSlots.push(slot);
    }
    guest.slotOf.clear();
  }

  /** Names the guest handler in slot `slot`, for failure reports. */
  describe(slot: number): string {
    const info = this.slots[slot];
    if (!info) return `in table slot ${slot} of no guest`;
    const what = info.index < 0 ? "an atexit() handler" : `function ${info.index}`;
    return `${what} of guest "${info.guest.name}"`;
  }
}

/**
 * Says which build flag an instantiated module lacks to register at all,
 * rather than letting every registration fail with NO_TABLE; undefined when
 * it lacks none.
 */
export function missingFlag(guest: Guest, compiled: object): string | undefined {
  const module = compiled as WebAssembly.Module;
  const imports = new Set(WebAssembly.Module.imports(module).filter((i) => i.module === "atexit").map((i) => i.name));
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  if (!guest.table && (imports.has("register") || (imports.has("register_call") && exports.has("_start")))) {
    const why = imports.has("register") ? "imports atexit.register" : "is a command linked with libwasm-atexit";
    return (
      `guest "${guest.name}" ${why} but exports no function table: ` +
      "link it with -Wl,--export-table (clang) or -C link-arg=--export-table (rustc), or build it with --exportTable (AssemblyScript)"
    );
  }
  if (guest.refusedBeforeAttach > 0) {
    return (
      `guest "${guest.name}" registered from its start function, before its table could be attached: ` +
      "register from _initialize instead (AssemblyScript: build with --exportStart _initialize)"
    );
  }
  return undefined;
}

// Tiny modules that import one function of an exact type: instantiating one
// with a guest's function succeeds only if the signature matches, which is
// checked at registration rather than found by a trap at exit. Compiled at
// the first guest registration, not at import (SPEC P4).
//   (module (import "g" "f" (func (param <params>))))
type Params = [] | [0x7f];
const checkers = new Map<Params, WebAssembly.Module>();
const TAKES_I32: Params = [0x7f];
const TAKES_NOTHING: Params = [];

function fits(params: Params, fn: Function): boolean {
  let checker = checkers.get(params);
  if (checker === undefined) {
    const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4 + params.length, 1, 0x60, params.length, ...params, 0, 2, 7, 1, 1, 0x67, 1, 0x66, 0, 0];
    checkers.set(params, (checker = new WebAssembly.Module(new Uint8Array(bytes))));
  }
  try {
    new WebAssembly.Instance(checker, { g: { f: fn } });
    return true;
  } catch {
    return false;
  }
}
