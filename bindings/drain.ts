// Running the handlers of one drain, one at a time, in the order the core
// hands them out: synchronously (at the host's exit event, in
// runExitHandlers, in dispose), or awaiting each handler's promise before the
// next one starts, under one deadline for the whole drain (SPEC H2). Each
// handler's outcome is settled here: it ran, it failed (R9), or it asked to
// exit (R10); and traced, when asked, once it has really ended.

import { TOOK_GUEST } from "./core.js";
import { Reports, handlerName, summarizeThrown } from "./report.js";

export type Handler = (...args: any[]) => unknown;

/**
 * What the host's exit function throws when a handler calls it: the handler
 * asked the process to end, which ends that handler (as Python's SystemExit
 * does) but not the drain (SPEC R10). `code` undefined: "the current code".
 */
export class ExitRequest {
  #brand = true;
  constructor(readonly code: number | undefined) {}
  /** A brand check that reads nothing of `value`, which may be a revoked Proxy. */
  static is(value: unknown): value is ExitRequest {
    return typeof value === "object" && value !== null && #brand in value;
  }
}

/**
 * A registration's call, when it is not its function called with nothing:
 * `fn(...args)`, or with `args` null an `onExit` callback, which gets the
 * exit code, the signal and the reason. A fresh instance per registration
 * doubles as the remover's proof that its handle is still this
 * registration's (handles are reused once freed).
 */
export class Call {
  constructor(
    readonly fn: Handler,
    readonly args: readonly unknown[] | null,
  ) {}
}

/** What a registration calls: its function with no arguments, or a Call. */
export type Entry = Handler | Call;

export function functionOf(entry: Entry): Handler {
  return typeof entry === "function" ? entry : entry.fn;
}

/**
 * JS handlers the stack took from the core at once, which a drain calls in
 * order without asking the stack: the i-th is entries[top - i] when `top`
 * is not 0 (handles counting down, as registrations linked from one range
 * are), else entries[handles[i]]. Before each call the drain counts it in
 * `handedOut`, which the stack reads when it settles the batch; it stops
 * calling the batch once the stack calls `interruptBatch()`.
 */
export interface TakenBatch {
  handles: Int32Array;
  top: number;
  /** The stack's entries, by handle. */
  readonly entries: (Entry | undefined)[];
}

// The batch being called (see TakenBatch), in module variables rather than
// properties: the drain writes one before and reads the other after every
// handler, and in the interpreter, which runs a short program's drain, a
// property costs more (SPEC P2; see `npm run bench`).
let batchEpoch = 0;
/** How many of the last batch taken a drain has called, or is calling. */
export let handedOut = 0;

/** The stack changed under the batch (or settled it): the drain calling it stops after the current handler. */
export function interruptBatch(): void {
  batchEpoch++;
}

/** The handle of the batch's `pos`-th handler. */
export function handleAt(batch: TakenBatch, pos: number): number {
  return batch.top !== 0 ? batch.top - pos : batch.handles[pos];
}

/** What a drain needs of the stack: the Runtime implements it over the core. */
export interface Stack {
  readonly batch: TakenBatch;
  /**
   * Takes the next JS handlers into `batch`, after the core has run the
   * guest handlers above them, and says how many; 0 when nothing is
   * pending; TOOK_GUEST when, with `stopAtGuests`, a guest's handler is next.
   */
  next(stopAtGuests: boolean): number;
  /** Runs the guest handler `next(true)` stopped at. */
  runTaken(): void;
  /** Names the guest handler called last: the one that ran, or trapped. */
  lastGuest(): string;
}

/** One handler's call; exit() called inside it, or in what it awaits, is its own request while it is live. */
export interface HandlerScope {
  live: boolean;
}

/** Carries the current HandlerScope through a handler's awaits (AsyncLocalStorage, where the host has it). */
export interface ScopeCarrier {
  run<T>(scope: HandlerScope, body: () => T): T;
  current(): HandlerScope | undefined;
  /**
   * Whether the code running now is a promise's reaction (what follows an
   * await), rather than a timer's or an I/O callback, which carry the
   * scope of the handler that started them too. True where the host cannot
   * tell.
   */
  inPromiseJob(): boolean;
}

/** What a step of the drain returns when nothing is pending any more. */
const DONE = Symbol("done");
const RAN = Symbol("ran");
const DEADLINE = Symbol("deadline");
type Outcome = typeof RAN | { thrown: unknown };

/** A handler that returned a promise (or any thenable), and what becomes of it. */
interface Started {
  name: string;
  start: number;
  scope: HandlerScope;
  /** Never rejects: the promise's outcome. */
  settled: Promise<Outcome>;
}

// Handlers being called synchronously right now, across nested drains: an
// exit() made while this is above 0 comes from a handler.
let syncDepth = 0;
// The scope of the awaited handler whose promise carries none (see started).
let untracked: HandlerScope | undefined;

/** Whether the code calling the host's exit function right now is an exit handler (SPEC R10, H2). */
export function calledFromHandler(carrier: ScopeCarrier | undefined): boolean {
  if (syncDepth > 0) return true;
  const scope = carrier?.current();
  if (scope === undefined) return untracked?.live === true;
  // A timer the handler started is not the handler (H2): throwing an exit
  // request into it would escape as an uncaught exception.
  return scope.live && carrier!.inPromiseJob();
}

/**
 * The code a program ends with after a drain: `code`, but never one a shell
 * reads as 0 (its low 8 bits: exit(256) is 0) when a handler failed (R9).
 */
export function exitCodeAfter(drain: Drain, code: number): number {
  return drain.failed && (code & 0xff) === 0 ? 1 : code;
}

export class Drain {
  /** Whether a handler failed; `error` is the last thing one threw. */
  failed = false;
  error: unknown;
  /** The last exit code asked for during the drain: by a handler (R10), or by a joining shutdown(code). */
  exitCode: number | undefined;
  /** Whether the drain ends by `signal` (a signal came after the last exit code asked for). */
  endsBySignal = false;
  /** Whether a signal has come during this drain: a second one ends the process at once (H1). */
  signalled = false;
  /** Whether any handler's promise was awaited. */
  awaited = false;
  /** The handler whose promise the drain awaits now. */
  private waitingFor: Started | undefined;
  // An awaited drain that the synchronous drain at exit took over stops here.
  private takenOver = false;

  constructor(
    private readonly stack: Stack,
    private readonly reports: Reports,
    /** The exit code onExit callbacks are given. */
    public code: number,
    public signal: string | null,
    /** Why the program ends (SPEC H4): the uncaught error or rejection, if any. */
    public reason: unknown,
    private readonly tracing: boolean,
    /** For an awaited drain: the carrier of handler scopes, made when the first async function is met. */
    private readonly carrierFor: (() => ScopeCarrier | undefined) | undefined,
  ) {}

  /** A signal joins the drain: it ends by that signal, unless an exit code is asked for after it. */
  joinSignal(signal: string, code: number): void {
    this.signal = signal;
    this.code = code;
    this.signalled = true;
    this.endsBySignal = true;
  }

  /** An exit code is asked for during the drain (R10): the last one asked for wins. */
  requestExit(code: number | undefined): void {
    this.exitCode = this.code = code ?? this.code;
    this.endsBySignal = false;
  }

  /**
   * Runs every pending handler now. Nothing here can wait: a handler's
   * promise is left running, and said so; if it rejects later, that is
   * reported, never an unhandled rejection.
   */
  runSync(): void {
    if (this.waitingFor) {
      const { name } = this.waitingFor;
      this.waitingFor = undefined;
      this.takenOver = true;
      this.reports.notice(`exit handler ${name} was cut short: the process is exiting before its promise settled`);
    }
    const unawaited: string[] = [];
    for (let step; (step = this.runUntilPromise(false)) !== DONE; ) {
      unawaited.push(step.name);
      void step.settled.then((outcome) => {
        if (outcome !== RAN && !ExitRequest.is(outcome.thrown)) this.reports.failure(step.name, outcome.thrown);
      });
    }
    if (unawaited.length > 0) {
      this.reports.notice(
        `exit handler ${unawaited.join(", ")} returned a promise that could not be awaited at this exit; ` +
          "shutdown() and handleSignals() await them",
      );
    }
  }

  /**
   * The same, awaiting each handler's promise before the next handler runs,
   * until `deadline` (performance.now() time) for the whole drain. A handler
   * still running then is reported, and the drain goes on without it.
   */
  async runAwaited(deadline: number, timeout: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<typeof DEADLINE>((resolve) => {
      timer = setTimeout(() => resolve(DEADLINE), Math.max(0, deadline - performance.now()));
    });
    try {
      for (let step; !this.takenOver && (step = this.runUntilPromise(true)) !== DONE; ) {
        this.awaited = true;
        this.waitingFor = step;
        const outcome = await Promise.race([step.settled, expired]);
        step.scope.live = false; // from now on its exit() calls are ordinary exits
        if (this.takenOver) return;
        this.waitingFor = undefined;
        if (outcome === DEADLINE) {
          this.reports.notice(
            `exit handler ${step.name} was still running at the shutdown deadline (${timeout} ms); the drain goes on without it`,
          );
          if (this.tracing) this.trace(step.name, step.start, "was still running at the deadline");
        } else {
          this.ended(step.name, step.start, outcome === RAN ? undefined : outcome.thrown, "settled", outcome !== RAN);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Records a guest handler's trap, or a failure outside a handler's call, as a handler's outcome. */
  settle(name: string, thrown: unknown): void {
    if (ExitRequest.is(thrown)) this.requestExit(thrown.code);
    else {
      this.failed = true;
      this.error = thrown;
      this.reports.failure(name, thrown);
    }
  }

  /**
   * Runs handlers, in the order the core hands them out, until one returns
   * a promise (returned: to be awaited, or left running) or nothing is
   * pending (DONE). Each is settled here: it ran, failed (R9), or asked to
   * exit (R10). The common handler, a function that returns nothing, costs
   * its call and little more: it is not even named unless it fails or
   * tracing is on (SPEC P2).
   */
  private runUntilPromise(awaiting: boolean): Started | typeof DONE {
    const { stack, tracing } = this;
    const { batch } = stack;
    const checkAsync = awaiting && this.carrierFor !== undefined;
    // Where in the batch, kept in locals; the batch ends early when the
    // stack changes under it (`epoch` moves). A drain that stopped to await
    // a handler starts here again with a batch of its own (the rest of the
    // last one is put back first).
    let pos = 0;
    let end = 0;
    let epoch = batchEpoch;
    // exit() from here on, a guest's handler's included, is a handler's (R10).
    syncDepth++;
    try {
      for (;;) {
        if (pos >= end || epoch !== batchEpoch) {
          let taken: number;
          try {
            // Runs guest handlers itself (unless tracing); a trap in one unwinds to here.
            taken = stack.next(tracing);
          } catch (err) {
            this.settle(stack.lastGuest(), err);
            continue;
          }
          if (taken === 0) return DONE;
          if (taken === TOOK_GUEST) {
            this.runTakenGuest();
            continue;
          }
          pos = handedOut = 0;
          end = taken;
          epoch = batchEpoch;
        }
        if (!tracing && batch.top !== 0) {
          pos = callPlain(batch, pos, end, epoch, checkAsync);
          const { entry: called, outcome, threw } = stopped;
          if (called !== undefined) {
            stopped.entry = stopped.outcome = undefined;
            if (threw) this.ended(called, 0, outcome, "ran", true);
            else if ((typeof outcome === "object" && outcome !== null) || typeof outcome === "function") {
              const started = this.started(called, 0, outcome, awaiting, undefined);
              if (started) return started;
            }
            continue;
          }
          if (pos >= end || epoch !== batchEpoch) continue;
          // What callPlain leaves: a Call, or an async function to run in its scope.
        }
        const entry = batch.entries[handleAt(batch, pos)]!;
        handedOut = ++pos;
        const start = tracing ? performance.now() : 0;
        // Only an async function's awaits carry its scope (AsyncLocalStorage
        // costs every handler it wraps, and its first use most of a
        // millisecond); another handler's promise is tracked by `untracked`.
        let scope: HandlerScope | undefined;
        let carrier: ScopeCarrier | undefined;
        if (checkAsync && isAsyncFunction(functionOf(entry)) && (carrier = this.carrierFor!()) !== undefined) scope = { live: true };
        let result: unknown;
        try {
          // (No closure here: one capturing `entry` would give every turn of the loop a context to allocate.)
          result = scope ? this.callIn(carrier!, scope, entry) : typeof entry === "function" ? entry() : this.call(entry);
        } catch (err) {
          if (scope) scope.live = false;
          this.ended(entry, start, err, "ran", true);
          continue;
        }
        if ((typeof result === "object" && result !== null) || typeof result === "function") {
          const started = this.started(entry, start, result, awaiting, scope);
          if (started) return started;
        } else {
          if (scope) scope.live = false;
          if (tracing) this.ended(entry, start, undefined, "ran");
        }
      }
    } finally {
      syncDepth--;
    }
  }

  /** A handler returned an object: a promise to await or leave running, or nothing of the kind. */
  private started(entry: Entry, start: number, result: object, awaiting: boolean, scope: HandlerScope | undefined): Started | undefined {
    const settled = awaitable(result);
    if (settled === undefined || !(settled instanceof Promise)) {
      if (scope) scope.live = false;
      this.ended(entry, start, settled?.thrown, "ran", settled !== undefined);
      return undefined;
    }
    const name = handlerName(functionOf(entry));
    if (!awaiting) {
      if (this.tracing) this.trace(name, start, "returned a promise this exit cannot await, after");
      return { name, start, scope: { live: false }, settled };
    }
    if (scope) return { name, start, scope, settled };
    // Not an async function: what its promise runs carries no scope, so an
    // exit() outside every handler's scope is taken as this one's while it
    // is awaited.
    untracked = { live: true };
    return { name, start, scope: untracked, settled };
  }

  private callIn(carrier: ScopeCarrier, scope: HandlerScope, entry: Entry): unknown {
    return carrier.run(scope, () => this.call(entry));
  }

  private call(entry: Entry): unknown {
    if (typeof entry === "function") return entry();
    const { fn, args } = entry;
    if (args === null) return fn(this.code, this.signal, this.reason);
    return fn(...args);
  }

  private runTakenGuest(): undefined {
    const start = performance.now();
    let thrown: unknown;
    let failed = false;
    try {
      this.stack.runTaken();
    } catch (err) {
      failed = true;
      thrown = err;
    }
    this.ended(this.stack.lastGuest(), start, thrown, "ran", failed);
    return undefined;
  }

  // Settles and traces the end of one handler (a JS one named only now, when needed).
  private ended(handler: Entry | string, start: number, thrown: unknown, how: "ran" | "settled", failed = false): void {
    if (!failed && !this.tracing) return;
    const name = typeof handler === "string" ? handler : handlerName(functionOf(handler));
    if (failed) this.settle(name, thrown);
    if (!this.tracing) return;
    if (!failed) this.trace(name, start, `${how} in`);
    else if (ExitRequest.is(thrown)) this.trace(name, start, `asked to exit with ${thrown.code ?? "the current code"} after`);
    else this.trace(name, start, "failed after", `: ${summarizeThrown(thrown)}`);
  }

  /** One trace line: `<handler> <how> <milliseconds since start><after>`. */
  private trace(name: string, start: number, how: string, after = ""): void {
    this.reports.trace(`${name} ${how} ${(performance.now() - start).toFixed(3)} ms${after}`);
  }
}

/** The constructor of async functions (bound ones, and Proxies of them, too). */
const AsyncFunction: unknown = (async () => {}).constructor;

/**
 * Whether `fn` is an async function, by its inherited `constructor`: a
 * property read the interpreter caches, where Object.getPrototypeOf is a
 * call, dearer for every handler of a drain (see `npm run bench`). A read that throws (a revoked Proxy, a throwing getter) says
 * no: the call is then what fails, and is reported.
 */
function isAsyncFunction(fn: Handler): boolean {
  try {
    return fn.constructor === AsyncFunction;
  } catch {
    return false;
  }
}

/** The handler callPlain stopped after, and what it threw or returned. */
const stopped: { entry: Handler | undefined; outcome: unknown; threw: boolean } = { entry: undefined, outcome: undefined, threw: false };

/**
 * The drain's common case (SPEC P2): calls the handlers of a batch whose
 * handles count down (batch.top is not 0: registrations linked from one
 * range, no reused record among them) from `pos`, while each is a function
 * registered without arguments (and, with `checkAsync`, not an async
 * function) that returns undefined, counting each in `handedOut` first;
 * returns where it stopped. It stops at `end`, or when the stack changed
 * under the batch (`epoch` is not the batch's any more); before a handler
 * that is not one of those; or after one that threw or returned something,
 * left in `stopped`. Small, and free of everything else a handler may need,
 * so that V8 compiles it early: a short drain runs in the interpreter, where
 * every operation more per handler counts, and a long one would otherwise
 * wait for a large loop's optimised code (see `npm run bench`).
 */
function callPlain(batch: TakenBatch, pos: number, end: number, epoch: number, checkAsync: boolean): number {
  const { entries, top } = batch;
  while (pos < end && epoch === batchEpoch) {
    const entry = entries[top - pos];
    if (typeof entry !== "function") return pos;
    if (checkAsync) {
      // isAsyncFunction, written out: in the interpreter a call here costs
      // every handler more than the check itself (see `npm run bench`).
      let constructor: unknown;
      try {
        constructor = entry.constructor;
      } catch {
        return pos; // a revoked Proxy: calling it fails, and is reported
      }
      if (constructor === AsyncFunction) return pos;
    }
    handedOut = ++pos;
    let result: unknown;
    try {
      result = entry();
    } catch (err) {
      stopped.entry = entry;
      stopped.outcome = err;
      stopped.threw = true;
      return pos;
    }
    if (result !== undefined) {
      stopped.entry = entry;
      stopped.outcome = result;
      stopped.threw = false;
      return pos;
    }
  }
  return pos;
}

/**
 * What a handler returned, when it is a thenable: its outcome, as a promise
 * that never rejects. Reading `then`, or calling it, may throw (a throwing
 * getter; a real promise whose `constructor` getter throws): that is the
 * handler's failure, known at once.
 */
function awaitable(value: unknown): Promise<Outcome> | { thrown: unknown } | undefined {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return undefined;
  let resolve!: (outcome: Outcome) => void;
  const settled = new Promise<Outcome>((r) => (resolve = r));
  try {
    const then = (value as { then?: unknown }).then;
    if (typeof then !== "function") return undefined;
    then.call(
      value,
      () => resolve(RAN),
      (thrown: unknown) => resolve({ thrown }),
    );
  } catch (thrown) {
    return { thrown };
  }
  return settled;
}
