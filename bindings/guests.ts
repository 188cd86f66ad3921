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
  unregister(handle: number): number;
  count(): number;
}

interface Slot {
  guest: Guest;
  index: number;
  fn: Function;
  takesArg: boolean;
}

/** One linked Wasm module: an owner of its own on the shared stack. */
export class Guest {
  /** Pass as the module's imports: `{ ...yours, ...guest.imports }`. */
  readonly imports: { atexit: AtexitImports };
  table: FunctionTable | undefined;
  disposed = false;
  // The guest's table index of each handler registered → its slot in the
  // core's table; and every slot it was given (an index whose function the
  // guest replaced keeps its old slot for the registrations made before).
  readonly slotOf = new Map<number, number>();
  readonly slotsGiven: number[] = [];

  constructor(
    readonly name: string,
    readonly owner: number,
    readonly quota: number,
    guests: Guests,
  ) {
    this.imports = {
      atexit: {
        register: (fn, arg) => guests.register(this, fn, arg),
        unregister: (handle) => (this.disposed ? ERR_DISPOSED : guests.core.remove(this.owner, handle)),
        count: () => (this.disposed ? 0 : guests.core.countOf(this.owner)),
      },
    };
  }

  /**
   * Attaches the instance's function table (`__indirect_function_table` from
   * C and Rust with --export-table, `table` from AssemblyScript with
   * --exportTable). Until then, `register` answers ERR_NO_TABLE.
   */
  attach(instance: { exports: Record<string, unknown> }): void {
    const table = instance.exports.__indirect_function_table ?? instance.exports.table;
    if (table instanceof WebAssembly.Table) this.table = table as unknown as FunctionTable;
  }
}

export class Guests {
  private created = 0;
  // By slot of the core's table: what was copied there. Slots are freed when
  // their guest is disposed of.
  private readonly slots: (Slot | undefined)[] = [];
  private readonly freeSlots: number[] = [];

  constructor(readonly core: CoreExports) {}

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
    if (!table) return ERR_NO_TABLE;
    if (index < 0 || index >= table.length) return ERR_BAD_INDEX;
    const fn = table.get(index);
    if (fn === null) return ERR_BAD_INDEX;
    let slot = guest.slotOf.get(index);
    if (slot === undefined || this.slots[slot]!.fn !== fn) {
      const takesArg = fits(TAKES_I32, fn) ? true : fits(TAKES_NOTHING, fn) ? false : undefined;
      if (takesArg === undefined) return ERR_BAD_SIGNATURE;
      slot = this.freeSlots.pop() ?? this.core.table.grow(1);
      this.core.table.set(slot, fn);
      this.slots[slot] = { guest, index, fn, takesArg };
      guest.slotOf.set(index, slot);
      guest.slotsGiven.push(slot);
    }
    return this.core.pushGuest(guest.owner, slot, arg, this.slots[slot]!.takesArg ? 1 : 0);
  }

  /** Frees the core's table slots of a disposed guest. */
  release(guest: Guest): void {
    for (const slot of guest.slotsGiven) {
      this.core.table.set(slot, null);
      this.slots[slot] = undefined;
      this.freeSlots.push(slot);
    }
    guest.slotOf.clear();
    guest.slotsGiven.length = 0;
  }

  /** Names the guest handler in slot `slot`, for failure reports. */
  describe(slot: number): string {
    const info = this.slots[slot];
    return info ? `function ${info.index} of guest "${info.guest.name}"` : `of a disposed guest (table slot ${slot})`;
  }
}

// Tiny modules that import one function of an exact type: instantiating one
// with a guest's function succeeds only if the signature matches, which is
// checked at registration rather than found by a trap at exit.
//   (module (import "g" "f" (func (param <params>))))
function signatureChecker(params: number[]): () => WebAssembly.Module {
  let compiled: WebAssembly.Module | undefined;
  const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4 + params.length, 1, 0x60, params.length, ...params, 0, 2, 7, 1, 1, 0x67, 1, 0x66, 0, 0];
  return () => (compiled ??= new WebAssembly.Module(new Uint8Array(bytes)));
}
const TAKES_I32 = signatureChecker([0x7f]);
const TAKES_NOTHING = signatureChecker([]);

function fits(checker: () => WebAssembly.Module, fn: Function): boolean {
  try {
    new WebAssembly.Instance(checker(), { g: { f: fn } });
    return true;
  } catch {
    return false;
  }
}
