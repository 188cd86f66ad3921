// The JavaScript side of one thread's exit stack: the slot tables for the
// values the core cannot hold, the API over the core, and the drain driver
// that calls handlers and reports their failures. The order in which handlers
// run is decided only by the core; nothing here keeps a list of what is
// pending.

import { loadCore, type CoreExports } from "./core.js";
import { checkFunction, formatFailure, handlerName, outOfMemory } from "./errors.js";

export type Handler = (...args: any[]) => unknown;
/** The exit code and the signal's name (or null) passed to `onExit` callbacks. */
export type ExitCallback = (code: number, signal: string | null) => unknown;
/** Removes one `onExit` registration; calling it again does nothing. */
export type Remover = (() => void) & Disposable;

/**
 * Thrown by a host's exit function while a drain runs: the handler asked the
 * process to end, which ends that handler (as Python's SystemExit does) but
 * not the drain (SPEC R10). `code` undefined means "the current code".
 */
export class ExitRequest {
  constructor(readonly code: number | undefined) {}
}

/** What a host supplies: how the process exits, and how exits are intercepted. */
export interface Host {
  /** Runs `drain` with the host's exit function throwing ExitRequest. */
  intercept<T>(drain: () => T): T;
  /** The code the process would end with if it ended now. */
  exitCode(): number;
  /** Ends the process the ordinary way (its exit event runs). */
  exit(code: number): never;
  /** Ends the process at once, running no handler. */
  exitNow(code: number): never;
}

/** The outcome of one drain. */
export interface Drained {
  /** The last error a handler threw, when `failed`. */
  error: unknown;
  failed: boolean;
  /** The last code a handler asked to exit with, if one did. */
  exitCode: number | undefined;
}

// Marks an `onExit` registration, whose callback is called with the exit code
// and signal instead of stored arguments. A fresh instance per registration
// doubles as the remover's proof that its registration is still the one
// behind the handle (records are reused once freed).
class ExitInfo {}

interface DrainState extends Drained {
  code: number;
  signal: string | null;
}

const dispose: symbol = Symbol.dispose ?? Symbol.for("nodejs.dispose");

export class Runtime {
  private readonly core: CoreExports;
  // Functions by key (the record of a function's first registration).
  private readonly fns: (Handler | undefined)[] = [];
  private readonly keyOf = new Map<Handler, number>();
  // What each pending registration is called with, by handle.
  private readonly calls: (unknown[] | ExitInfo | undefined)[] = [];
  // The innermost drain running, if any (drains nest when a handler re-enters).
  private draining: DrainState | undefined;

  constructor(private readonly host: Host) {
    this.core = loadCore({
      run: (handle, key, keyGone) => this.run(handle, key, keyGone),
      released: (handle, keyGone) => this.release(handle, keyGone),
    });
  }

  register = <F extends Handler>(fn: F, ...args: Parameters<F>): F => {
    checkFunction("register", "fn", fn);
    this.push("register", fn, args);
    return fn;
  };

  unregister = (fn: Handler): void => {
    checkFunction("unregister", "fn", fn);
    const key = this.keyOf.get(fn);
    if (key !== undefined) this.core.removeAll(key);
  };

  onExit = (cb: ExitCallback): Remover => {
    checkFunction("onExit", "cb", cb);
    const token = new ExitInfo();
    const handle = this.push("onExit", cb, token);
    const remove = (() => {
      if (this.calls[handle] === token) this.core.remove(0, handle);
    }) as Remover;
    remove[dispose as typeof Symbol.dispose] = remove;
    return remove;
  };

  runExitHandlers = (): void => {
    const drained = this.drain(this.host.exitCode(), null);
    if (drained.exitCode !== undefined) {
      this.host.exit(drained.failed && drained.exitCode === 0 ? 1 : drained.exitCode);
    }
    if (drained.failed) throw drained.error;
  };

  clear = (): void => this.core.clear();

  count = (): number => this.core.count();

  exitNow = (code = 0): never => this.host.exitNow(code);

  /** The core, for tests and the benchmark; not part of the public API. */
  get internals(): CoreExports {
    return this.core;
  }

  /**
   * Runs every pending handler, newest first, with the process's exit turned
   * into a request that ends only the handler calling it.
   */
  drain(code: number, signal: string | null): Drained {
    const outer = this.draining;
    const state: DrainState = { code, signal, error: undefined, failed: false, exitCode: undefined };
    this.draining = state;
    try {
      this.host.intercept(() => this.core.drain());
    } finally {
      this.draining = outer;
    }
    return state;
  }

  private push(api: string, fn: Handler, call: unknown[] | ExitInfo): number {
    const known = this.keyOf.get(fn);
    const handle = this.core.pushJs(known ?? 0);
    if (handle < 0) throw outOfMemory(api, this.core.count());
    if (known === undefined) {
      this.keyOf.set(fn, handle);
      this.fns[handle] = fn;
    }
    this.calls[handle] = call;
    return handle;
  }

  // Called by the core for each handler it takes off the stack.
  private run(handle: number, key: number, keyGone: number): void {
    const fn = this.fns[key]!;
    const call = this.calls[handle];
    this.release(handle, keyGone);
    const state = this.draining!;
    try {
      if (call instanceof ExitInfo) fn(state.code, state.signal);
      else fn(...call!);
    } catch (err) {
      if (err instanceof ExitRequest) {
        state.exitCode = state.code = err.code ?? state.code;
      } else {
        state.failed = true;
        state.error = err;
        console.error(formatFailure(handlerName(fn), err));
      }
    }
  }

  // Forgets a registration's values, and its function's once none is left.
  private release(handle: number, keyGone: number): void {
    this.calls[handle] = undefined;
    if (keyGone) {
      this.keyOf.delete(this.fns[keyGone]!);
      this.fns[keyGone] = undefined;
    }
  }
}
