// The JavaScript side of one thread's exit stack: the slot tables for the
// values the core cannot hold, the API over the core, and the drain driver
// that calls handlers and reports their failures. The order in which handlers
// run is decided only by the core; nothing here keeps a list of what is
// pending.

import { TOOK_GUEST, instantiateWithLoader, loadCore, type CoreExports, type LoadedModule } from "./core.js";
import { checkFunction, checkInteger, describe, formatFailure, handlerName, outOfMemory } from "./errors.js";
import { Guest, Guests, type GuestOptions } from "./guests.js";

export type Handler = (...args: any[]) => unknown;
/** The exit code and the signal's name (or null) passed to `onExit` callbacks. */
export type ExitCallback = (code: number, signal: string | null) => unknown;
/** Removes one `onExit` registration; calling it again does nothing. */
export type Remover = (() => void) & Disposable;
/** What `instantiate` accepts: Wasm bytes, a compiled WebAssembly.Module or a fetch Response. */
export type WasmSource = ArrayBuffer | ArrayBufferView | object;
/** What `instantiate` returns: the WebAssembly.Module and Instance, the loader's exports, the guest. */
export interface Instantiated extends LoadedModule {
  guest: Guest;
}
export interface ShutdownOptions {
  /**
   * Milliseconds for the whole drain (default DEFAULT_SHUTDOWN_TIMEOUT):
   * a handler still running at the deadline is reported and not waited for.
   */
  timeout?: number;
}

/** 25 s: a drain that fits a container's usual 30 s between SIGTERM and SIGKILL. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 25_000;

/**
 * The signals handleSignals() listens to: those that end a process on Linux
 * (signal-exit's set), less SIGKILL and SIGSTOP, which cannot be caught, and
 * the fatal SIGBUS, SIGFPE, SIGSEGV and SIGILL, after which JS is not safe.
 */
export const EXIT_SIGNALS: readonly string[] = Object.freeze([
  "SIGHUP", "SIGINT", "SIGTERM", "SIGALRM", "SIGABRT", "SIGVTALRM", "SIGXCPU", "SIGXFSZ", "SIGUSR2",
  "SIGTRAP", "SIGSYS", "SIGQUIT", "SIGIOT", "SIGIO", "SIGPOLL", "SIGPWR", "SIGSTKFLT",
]);

export interface DisposeOptions {
  /** Run the guest's pending handlers now (default), or drop them unrun. */
  run?: boolean;
}

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
  /** Makes the host's exit function throw ExitRequest, until the returned function is called. */
  interceptExit(): () => void;
  /** The code the process would end with if it ended now. */
  exitCode(): number;
  /** Ends the process the ordinary way (its exit event runs). */
  exit(code: number): never;
  /** Ends the process at once, running no handler. */
  exitNow(code: number): never;
  /** Whether each handler is to be traced on stderr as it runs (WASM_ATEXIT_TRACE=1). */
  tracing(): boolean;
  /** Sets the code the process will end with. */
  setExitCode(code: number): void;
  /**
   * Calls `handler(signal, code)` (code: 128 + the signal's number) on each
   * of `signals` that nothing else listens to; returns the undo.
   */
  listenForSignals(signals: readonly string[], handler: (signal: string, code: number) => void): () => void;
  /** Ends the process by `signal`, with no listener left, so its parent sees the cause. */
  raise(signal: string): void;
  /** Calls `handler` when the program has nothing left to do but has not ended (Node's beforeExit). */
  onIdle(handler: () => void): void;
}

/** The outcome of one drain. */
export interface Drained {
  /** The last error a handler threw, when `failed`. */
  error: unknown;
  failed: boolean;
  /** The last code a handler asked to exit with, if one did. */
  exitCode: number | undefined;
}

/**
 * The code a program ends with after a drain: the last one a handler asked
 * for (R10), else `code`; and never 0 when a handler failed (R9).
 */
export function exitCodeAfter(drained: Drained, code: number): number {
  const final = drained.exitCode ?? code;
  return drained.failed && final === 0 ? 1 : final;
}

// Marks an `onExit` registration, whose callback is called with the exit code
// and signal instead of stored arguments. A fresh instance per registration
// doubles as the remover's proof that its registration is still the one
// behind the handle (records are reused once freed).
class ExitInfo {}

interface DrainState extends Drained {
  code: number;
  signal: string | null;
  tracing: boolean;
}

const dispose: symbol = Symbol.dispose ?? Symbol.for("nodejs.dispose");

// How a handler ended when it neither threw nor asked to exit.
const RAN = Symbol("ran");
// What a drain step returns when nothing is pending any more.
const DONE = Symbol("done");
// What an awaited handler's promise lost its race against.
const DEADLINE = Symbol("deadline");

/** A JS handler that returned a promise (or any thenable): it may need awaiting. */
interface Started {
  fn: Handler;
  result: PromiseLike<unknown>;
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";

function shutdownTimeout(api: string, options: ShutdownOptions): number {
  const timeout = options.timeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  checkInteger(api, "timeout", timeout, 0, 2 ** 31 - 1);
  return timeout;
}

/** One line on stderr per handler, as it ends (WASM_ATEXIT_TRACE=1, the command's --trace). */
function trace(handler: string, start: number, outcome: unknown): void {
  const took = `${(performance.now() - start).toFixed(3)} ms`;
  const how =
    outcome === RAN
      ? `ran in ${took}`
      : outcome instanceof ExitRequest
        ? `asked to exit with ${outcome.code ?? "the current code"} after ${took}`
        : `failed after ${took}: ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : describe(outcome)}`;
  console.error(`wasm-atexit trace: ${handler} ${how}`);
}

// Shared by every registration without arguments, so that those keep no
// array of their own alive until exit.
const NO_ARGS: readonly unknown[] = Object.freeze([]);

export class Runtime {
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

  constructor(private readonly host: Host) {
    // When the program runs out of work, drain with awaiting (SPEC H2); the
    // synchronous drain at exit then finds nothing left.
    host.onIdle(() => {
      if (this.pending() === 0) return;
      void this.drainAsync(this.host.exitCode(), null, DEFAULT_SHUTDOWN_TIMEOUT).then((drained) => {
        if (drained.exitCode !== undefined) this.finish(drained);
        else this.host.setExitCode(exitCodeAfter(drained, this.host.exitCode()));
      });
    });
  }

  private get core(): CoreExports {
    return (this.loaded ??= loadCore({ released: (handle, lastOfFunction) => this.release(handle, lastOfFunction !== 0) }));
  }

  private get guests(): Guests {
    return (this.guestsLinked ??= new Guests(this.core));
  }

  /** Pending registrations, without loading the core when nothing was ever registered. */
  private pending(): number {
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
    const remove = (() => {
      if (this.argsAt[handle] === token) this.core.remove(0, handle);
    }) as Remover;
    remove[dispose as typeof Symbol.dispose] = remove;
    return remove;
  };

  runExitHandlers = (): void => this.finish(this.drain(this.host.exitCode(), null));

  shutdown = async (code?: number, options: ShutdownOptions = {}): Promise<never> => {
    if (code !== undefined) checkInteger("shutdown", "code", code, -(2 ** 31), 2 ** 31 - 1);
    const drained = await this.drainAsync(code ?? this.host.exitCode(), null, shutdownTimeout("shutdown", options));
    return this.host.exit(exitCodeAfter(drained, code ?? this.host.exitCode()));
  };

  handleSignals = (options: ShutdownOptions = {}): Remover => {
    const timeout = shutdownTimeout("handleSignals", options);
    let draining = false;
    // The listeners stay until the drain is over (Bun, when a listener
    // removes itself while its signal is handled, may let that signal's
    // default action end the process); a second signal ends it at once.
    const stop = this.host.listenForSignals(EXIT_SIGNALS, (signal, code) => {
      if (draining) {
        stop();
        this.host.raise(signal);
        return;
      }
      draining = true;
      void this.drainAsync(code, signal, timeout).then((drained) => {
        stop();
        if (drained.exitCode !== undefined) this.finish(drained);
        else this.host.raise(signal);
      });
    });
    const remove = (() => stop()) as Remover;
    remove[dispose as typeof Symbol.dispose] = remove;
    return remove;
  };

  createGuest = (options?: GuestOptions): Guest => this.guests.create(options);

  instantiate = async (source: WasmSource, imports: Record<string, unknown> = {}, options?: GuestOptions): Promise<Instantiated> => {
    const guest = this.guests.create(options);
    const loaded = await instantiateWithLoader(source, { ...imports, ...guest.imports });
    guest.attach(loaded.instance);
    // A reactor's initialiser (C's constructors, an AssemblyScript module
    // built with --exportStart _initialize) runs once the table is attached,
    // so that it can register.
    const initialize = loaded.instance.exports._initialize;
    if (typeof initialize === "function") initialize();
    return { ...loaded, guest };
  };

  dispose = (guest: Guest, options: DisposeOptions = {}): void => {
    if (!(guest instanceof Guest)) {
      throw new TypeError(`wasm-atexit: dispose: guest must be a Guest from instantiate or createGuest, got ${describe(guest)}`);
    }
    if (guest.disposed) return;
    guest.disposed = true;
    const state = this.newDrain(this.host.exitCode(), null);
    const restore = this.host.interceptExit();
    try {
      for (;;) {
        try {
          this.core.disposeOwner(guest.owner, options.run === false ? 0 : 1);
          break;
        } catch (err) {
          this.settle(state, err, this.guests.describe(this.core.lastGuestSlot()));
        }
      }
    } finally {
      restore();
    }
    this.guests.release(guest);
    this.finish(state);
  };

  clear = (): void => this.loaded?.clear();

  count = (): number => this.pending();

  exitNow = (code = 0): never => this.host.exitNow(code);

  /** The core, for tests and the benchmark; not part of the public API. */
  get internals(): CoreExports {
    return this.core;
  }

  /**
   * Runs every pending handler, in the order the core hands them out (newest
   * first), with the process's exit turned into a request that ends only the
   * handler calling it. Drains nest when a handler re-enters. Nothing here
   * can wait: a handler's promise is left running, and said so.
   */
  drain(code: number, signal: string | null): Drained {
    const state = this.newDrain(code, signal);
    const unawaited: string[] = [];
    const restore = this.host.interceptExit();
    try {
      for (let step; (step = this.runNext(state)) !== DONE; ) if (step) unawaited.push(handlerName(step.fn));
    } finally {
      restore();
    }
    if (unawaited.length > 0) {
      console.error(
        `wasm-atexit: exit handler ${unawaited.join(", ")} returned a promise that could not be awaited at this exit; ` +
          "shutdown() and handleSignals() await them",
      );
    }
    return state;
  }

  /**
   * The same, awaiting each handler's promise before the next handler runs,
   * under one deadline for the whole drain (SPEC H2). A handler still running
   * at the deadline is reported, and the drain goes on without it.
   */
  async drainAsync(code: number, signal: string | null, timeout: number): Promise<Drained> {
    const state = this.newDrain(code, signal);
    const deadline = performance.now() + timeout;
    const restore = this.host.interceptExit();
    try {
      for (let step; (step = this.runNext(state)) !== DONE; ) {
        if (!step) continue;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const outcome = await Promise.race([
          Promise.resolve(step.result).then(
            (): typeof RAN => RAN,
            (reason: unknown) => ({ reason }),
          ),
          new Promise<typeof DEADLINE>((resolve) => {
            timer = setTimeout(() => resolve(DEADLINE), Math.max(0, deadline - performance.now()));
          }),
        ]);
        clearTimeout(timer);
        if (outcome === DEADLINE) {
          console.error(
            `wasm-atexit: exit handler ${handlerName(step.fn)} was still running at the shutdown deadline ` +
              `(${timeout} ms); the drain goes on without it`,
          );
        } else if (outcome !== RAN) {
          this.settle(state, outcome.reason, handlerName(step.fn));
        }
      }
    } finally {
      restore();
    }
    return state;
  }

  /**
   * One step of a drain: lets the core run guest handlers and hand out the
   * next JS one, and runs it. Returns DONE when nothing is pending, the
   * handler when it returned a promise, else undefined.
   */
  private runNext(state: DrainState): Started | typeof DONE | undefined {
    if (this.loaded === undefined) return DONE; // nothing was ever registered
    const { tracing } = state;
    let next: number;
    try {
      // Runs guest handlers itself (unless tracing); a trap in one unwinds to here.
      next = this.core.next(tracing ? 1 : 0);
    } catch (err) {
      this.settle(state, err, this.guests.describe(this.core.lastGuestSlot()));
      return undefined;
    }
    if (next === 0) return DONE;
    if (next === TOOK_GUEST) {
      this.runTakenGuest(state);
      return undefined;
    }
    return this.run(next, state, tracing);
  }

  /**
   * The drain at the host's exit event: the process ends with the code a
   * handler asked for, else the host's, and never 0 after a failure (R9).
   */
  drainAtExit(code: number): void {
    const drained = this.drain(code, null);
    // A handler may also have set the host's exit code itself.
    this.host.setExitCode(exitCodeAfter(drained, this.host.exitCode()));
  }

  private newDrain(code: number, signal: string | null): DrainState {
    // Whether to trace is asked once a drain: reading process.env costs
    // more than running a handler.
    return { code, signal, tracing: this.host.tracing(), error: undefined, failed: false, exitCode: undefined };
  }

  // After a drain outside the exit event: exit if a handler asked to, else
  // throw the last failure.
  private finish(state: Drained): void {
    if (state.exitCode !== undefined) this.host.exit(exitCodeAfter(state, state.exitCode));
    if (state.failed) throw state.error;
  }

  // Records how a handler ended abnormally: an exit request, or a failure
  // (reported on stderr with its stack, SPEC R9, G4).
  private settle(state: DrainState, err: unknown, handler: string): void {
    if (err instanceof ExitRequest) {
      state.exitCode = state.code = err.code ?? state.code;
    } else {
      state.failed = true;
      state.error = err;
      console.error(formatFailure(handler, err));
    }
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

  // Calls one handler the core took off the stack (see `next` in the core).
  private run(next: number, state: DrainState, tracing: boolean): Started | undefined {
    const handle = next < 0 ? -next : next;
    const fn = this.handlerAt[handle]!;
    const call = this.argsAt[handle];
    this.release(handle, next < 0);
    const start = tracing ? performance.now() : 0;
    let outcome: unknown = RAN;
    let result: unknown;
    try {
      if (call instanceof ExitInfo) result = fn(state.code, state.signal);
      else if (call!.length === 0) result = fn(); // a spread call costs more, even of nothing
      else result = fn(...call!);
    } catch (err) {
      this.settle(state, err, handlerName(fn));
      outcome = err;
    }
    if (tracing) trace(handlerName(fn), start, outcome);
    return isThenable(result) ? { fn, result } : undefined;
  }

  // Runs, and traces, the guest handler the core stopped at.
  private runTakenGuest(state: DrainState): void {
    const start = performance.now();
    let outcome: unknown = RAN;
    try {
      this.core.runTaken();
    } catch (err) {
      this.settle(state, err, this.guests.describe(this.core.lastGuestSlot()));
      outcome = err;
    }
    trace(this.guests.describe(this.core.lastGuestSlot()), start, outcome);
  }

  // Forgets a registration's values, and its function once none is left.
  private release(handle: number, lastOfFunction: boolean): void {
    if (lastOfFunction) this.functionOfKey[this.keyAt[handle]] = undefined;
    this.handlerAt[handle] = undefined;
    this.argsAt[handle] = undefined;
  }
}
