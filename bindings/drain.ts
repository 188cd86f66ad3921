// Running the handlers of one drain, one at a time, in the order the core
// hands them out: synchronously (at the host's exit event, in
// runExitHandlers, in dispose), or awaiting each handler's promise before the
// next one starts, under one deadline for the whole drain (SPEC H2). Each
// handler's outcome is settled here, into the drain's Ending: it ran, it
// failed (R9), or it asked to exit (R10); and traced, when asked, once it
// has really ended. Batches are handed out by batch.ts.

import { AsyncFunction, NO_BATCH, batchTaken, callPlain, nextEntry, type TakenBatch } from "./batch.js";
import { now } from "./clock.js";
import { TOOK_GUEST } from "./core.js";
import type { Ending } from "./ending.js";
import { ExitRequest, type HandlerCalls, type HandlerScope, type ScopeCarrier } from "./exit-request.js";
import { functionOf, type Entry, type Handler } from "./registration.js";
import { handlerName, summarizeThrown, type Reports } from "./report.js";

/** What a drain needs of the stack: ExitStack implements it over the core. */
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

/** What a drain is given by the policy that starts it. */
export interface DrainSetup {
  stack: Stack;
  reports: Reports;
  /** How the program ends: the drain's handlers change it by failing or asking to exit. */
  ending: Ending;
  /** Which code is a handler's, shared by every drain of the thread. */
  calls: HandlerCalls;
  /** Whether each handler is traced as it ends. */
  tracing: boolean;
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

export class Drain {
  readonly ending: Ending;
  readonly #stack: Stack;
  readonly #reports: Reports;
  readonly #calls: HandlerCalls;
  readonly #tracing: boolean;
  /** Whether any handler's promise was awaited. */
  #awaited = false;
  /** The handler whose promise the drain awaits now. */
  #waitingFor: Started | undefined;
  // An awaited drain that the synchronous drain at exit took over stops here.
  #takenOver = false;

  constructor(setup: DrainSetup) {
    this.ending = setup.ending;
    this.#stack = setup.stack;
    this.#reports = setup.reports;
    this.#calls = setup.calls;
    this.#tracing = setup.tracing;
  }

  /** Whether any handler's promise was awaited. */
  get awaited(): boolean {
    return this.#awaited;
  }

  /**
   * Runs every pending handler now. Nothing here can wait: a handler's
   * promise is left running, and said so; if it rejects later, that is
   * reported, never an unhandled rejection.
   */
  runSync(): void {
    if (this.#waitingFor) {
      const { name } = this.#waitingFor;
      this.#waitingFor = undefined;
      this.#takenOver = true;
      this.#reports.notice(`exit handler ${name} was cut short: the process is exiting before its promise settled`);
    }
    const unawaited: string[] = [];
    for (let step; (step = this.#runUntilPromise(false)) !== DONE; ) {
      unawaited.push(step.name);
      void step.settled.then((outcome) => {
        if (outcome !== RAN && !ExitRequest.is(outcome.thrown)) this.#reports.failure(step.name, outcome.thrown);
      });
    }
    if (unawaited.length > 0) {
      this.#reports.notice(
        `exit handler ${unawaited.join(", ")} returned a promise that could not be awaited at this exit; ` +
          "shutdown() and handleSignals() await them",
      );
    }
  }

  /**
   * The same, awaiting each handler's promise before the next handler runs,
   * until `deadline` (clock.ts's time) for the whole drain. A handler
   * still running then is reported, and the drain goes on without it.
   * Returns undefined when no handler returned a promise: most drains have
   * nothing to await, and end here, synchronously, with no promise made and
   * no turn of the event loop (SPEC P2, P7; see `npm run bench`).
   */
  runAwaited(deadline: number, timeout: number): Promise<void> | undefined {
    const step = this.#runUntilPromise(true);
    return step === DONE ? undefined : this.#awaitFrom(step, deadline, timeout);
  }

  /** Awaits `first`, the handler that returned a promise, then runs the rest as runAwaited() does. */
  async #awaitFrom(first: Started, deadline: number, timeout: number): Promise<void> {
    // The deadline's timer is set when a handler first returns a promise,
    // not before, so that a drain with nothing to await leaves no timer to
    // the event loop, which would otherwise turn once more before the
    // process ends.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<typeof DEADLINE>((resolve) => {
      timer = setTimeout(() => resolve(DEADLINE), Math.max(0, deadline - now()));
    });
    try {
      for (let step: Started | typeof DONE = first; step !== DONE; step = this.#runUntilPromise(true)) {
        this.#awaited = true;
        this.#waitingFor = step;
        const outcome = await Promise.race([step.settled, expired]);
        step.scope.live = false; // from now on its exit() calls are ordinary exits
        if (this.#takenOver) return;
        this.#waitingFor = undefined;
        if (outcome === DEADLINE) {
          this.#reports.notice(
            `exit handler ${step.name} was still running at the shutdown deadline (${timeout} ms); the drain goes on without it`,
          );
          if (this.#tracing) this.#trace(step.name, step.start, "was still running at the deadline");
        } else {
          this.#ended(step.name, step.start, outcome === RAN ? undefined : outcome.thrown, "settled", outcome !== RAN);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Records a guest handler's trap, or a failure outside a handler's call, as a handler's outcome. */
  settle(name: string, thrown: unknown): void {
    if (ExitRequest.is(thrown)) this.ending.requestExit(thrown.code);
    else {
      this.ending.fail(thrown);
      this.#reports.failure(name, thrown);
    }
  }

  /**
   * Runs handlers, in the order the core hands them out, until one returns
   * a promise (returned: to be awaited, or left running) or nothing is
   * pending (DONE). A drain that stopped to await a handler starts here
   * again with a batch of its own (the rest of the last one is put back
   * first). `awaiting`: an async function runs in a scope of its own, which
   * tells its exit() calls after an await from anyone else's.
   *
   * Plain handlers are callPlain's; the others (a Call, an async function,
   * any handler when tracing) are #runOne's, compiled only when a drain
   * meets one: at a short program's end, V8 compiles every line of this
   * loop before the first handler runs (SPEC P2, P7; see `npm run bench`).
   */
  #runUntilPromise(awaiting: boolean): Started | typeof DONE {
    const { batch } = this.#stack;
    const tracing = this.#tracing;
    // The batch being handed out (batch.ts): none yet, so that the first
    // turn takes one, and sees what changed while a handler was awaited.
    let ticket = NO_BATCH;
    // exit() from here on, a guest's handler's included, is a handler's (R10).
    this.#calls.enter();
    try {
      for (;;) {
        let started: Started | undefined;
        // The fast path; tracing names every handler.
        const stop = !tracing && batch.top !== 0 ? callPlain(batch, ticket, awaiting) : undefined;
        if (stop !== undefined) started = this.#afterCall(stop.entry, 0, stop.outcome, stop.threw, awaiting, undefined);
        else {
          // What callPlain leaves: a handler it does not call, or the batch's end.
          const entry = nextEntry(batch, ticket);
          if (entry === undefined) {
            if ((ticket = this.#takeBatch()) === NO_BATCH) return DONE;
            continue;
          }
          started = this.#runOne(entry, awaiting);
        }
        if (started) return started;
      }
    } finally {
      this.#calls.leave();
    }
  }

  /** Runs a handler callPlain left: what it started, when it returned a promise. */
  #runOne(entry: Entry, awaiting: boolean): Started | undefined {
    const tracing = this.#tracing;
    const start = tracing ? now() : 0;
    // Only an async function's awaits carry its scope (AsyncLocalStorage
    // costs every handler it wraps, and its first use most of a
    // millisecond); another's promise is tracked by HandlerCalls.untracked().
    let scope: HandlerScope | undefined;
    let carrier: ScopeCarrier | undefined;
    if (awaiting && isAsyncFunction(functionOf(entry)) && (carrier = this.#calls.carrier()) !== undefined) scope = { live: true };
    let outcome: unknown;
    let threw = false;
    try {
      // (No closure here: one capturing `entry` would give every call a context to allocate.)
      outcome = scope ? this.#callIn(carrier!, scope, entry) : typeof entry === "function" ? entry() : this.#invoke(entry);
    } catch (err) {
      outcome = err;
      threw = true;
    }
    // The common case, a handler that ran and returned nothing, has nothing more to say.
    if (!threw && outcome === undefined && scope === undefined && !tracing) return undefined;
    return this.#afterCall(entry, start, outcome, threw, awaiting, scope);
  }

  /** Takes the next batch of JS handlers, running the guest handlers above it: its ticket, or NO_BATCH when nothing is pending. */
  #takeBatch(): number {
    const stack = this.#stack;
    for (;;) {
      let taken: number;
      try {
        // Runs guest handlers itself (unless tracing); a trap in one unwinds to here.
        taken = stack.next(this.#tracing);
      } catch (err) {
        this.settle(stack.lastGuest(), err);
        continue;
      }
      if (taken === 0) return NO_BATCH;
      if (taken === TOOK_GUEST) this.#runTakenGuest();
      else return batchTaken(taken);
    }
  }

  /**
   * What follows a handler's call: it returned a promise (to await, or to
   * leave running), or it has ended, having failed, asked to exit, or ran.
   */
  #afterCall(entry: Entry, start: number, outcome: unknown, threw: boolean, awaiting: boolean, scope: HandlerScope | undefined): Started | undefined {
    if (!threw) {
      const settled = awaitable(outcome);
      if (settled instanceof Promise) return this.#started(entry, start, settled, awaiting, scope);
      if (settled !== undefined) {
        threw = true; // reading or calling its `then` threw
        outcome = settled.thrown;
      }
    }
    if (scope) scope.live = false;
    this.#ended(entry, start, threw ? outcome : undefined, "ran", threw);
    return undefined;
  }

  /** A handler returned a promise: awaited, or left running. */
  #started(entry: Entry, start: number, settled: Promise<Outcome>, awaiting: boolean, scope: HandlerScope | undefined): Started {
    const name = handlerName(functionOf(entry));
    if (!awaiting) {
      if (this.#tracing) this.#trace(name, start, "returned a promise this exit cannot await, after");
      return { name, start, scope: { live: false }, settled };
    }
    return { name, start, scope: scope ?? this.#calls.untracked(), settled };
  }

  #callIn(carrier: ScopeCarrier, scope: HandlerScope, entry: Entry): unknown {
    return carrier.run(scope, () => this.#invoke(entry));
  }

  #invoke(entry: Entry): unknown {
    if (typeof entry === "function") return entry();
    const { fn, args } = entry;
    if (args === null) {
      const { ending } = this;
      return fn(ending.code, ending.signal, ending.reason);
    }
    return fn(...args);
  }

  #runTakenGuest(): void {
    const start = this.#tracing ? now() : 0;
    let thrown: unknown;
    let failed = false;
    try {
      this.#stack.runTaken();
    } catch (err) {
      failed = true;
      thrown = err;
    }
    // Named only when that is said: naming reads the core and the guest's table.
    if (failed || this.#tracing) this.#ended(this.#stack.lastGuest(), start, thrown, "ran", failed);
  }

  // Settles and traces the end of one handler (a JS one named only now, when needed).
  #ended(handler: Entry | string, start: number, thrown: unknown, how: "ran" | "settled", failed = false): void {
    if (!failed && !this.#tracing) return;
    const name = typeof handler === "string" ? handler : handlerName(functionOf(handler));
    if (failed) this.settle(name, thrown);
    if (!this.#tracing) return;
    if (!failed) this.#trace(name, start, `${how} in`);
    else if (ExitRequest.is(thrown)) this.#trace(name, start, `asked to exit with ${thrown.code ?? "the current code"} after`);
    else this.#trace(name, start, "failed after", `: ${summarizeThrown(thrown)}`);
  }

  /** One trace line: `<handler> <how> <milliseconds since start><after>`. */
  #trace(name: string, start: number, how: string, after = ""): void {
    this.#reports.trace(`${name} ${how} ${(now() - start).toFixed(3)} ms${after}`);
  }
}

/**
 * Whether `fn` is an async function, by its inherited `constructor`: a
 * property read the interpreter caches, where Object.getPrototypeOf is a
 * call, dearer for every handler of a drain (see `npm run bench`). A read
 * that throws (a revoked Proxy, a throwing getter) says no: the call is
 * then what fails, and is reported.
 */
function isAsyncFunction(fn: Handler): boolean {
  try {
    return fn.constructor === AsyncFunction;
  } catch {
    return false;
  }
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
