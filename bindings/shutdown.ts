// The shutdown policy (SPEC R10, R12, H1, H2, H4): when the stack is
// drained, how, and how the program then ends.
//
// One drain at a time per thread. Whatever arrives while a drain runs joins
// it (joinOrStart): a signal (a second one ends the process at once),
// shutdown(), an uncaught error; the program running out of work then
// waits. How the program ends is the drain's Ending (ending.ts). The host's
// exit function is replaced while any drain runs: called by a handler
// (synchronously, or after an await inside it) it is an exit request that
// ends that handler only (R10, exit-request.ts); called by anything else it
// is an ordinary exit, and the synchronous drain at the exit event takes
// over from the awaited one.

import { now } from "./clock.js";
import { Drain, type Stack } from "./drain.js";
import { Ending } from "./ending.js";
import { checkExitCode, checkInteger } from "./errors.js";
import { ExitRequest, HandlerCalls, type ScopeCarrier } from "./exit-request.js";
import { describe, type Reports } from "./report.js";

/** 25 s: a drain that fits a container's usual 30 s between SIGTERM and SIGKILL. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 25_000;

/**
 * The signals handleSignals() listens to by default: those that end a
 * process on Linux (signal-exit's set), less SIGKILL and SIGSTOP, which
 * cannot be caught, and the fatal SIGBUS, SIGFPE, SIGSEGV and SIGILL, after
 * which JS is not safe.
 */
export const EXIT_SIGNALS: readonly string[] = Object.freeze([
  "SIGHUP", "SIGINT", "SIGTERM", "SIGALRM", "SIGABRT", "SIGVTALRM", "SIGXCPU", "SIGXFSZ", "SIGUSR2",
  "SIGTRAP", "SIGSYS", "SIGQUIT", "SIGIOT", "SIGIO", "SIGPOLL", "SIGPWR", "SIGSTKFLT",
]);

const UNCATCHABLE = new Set(["SIGKILL", "SIGSTOP"]);

export interface ShutdownOptions {
  /**
   * Milliseconds for the whole drain (default DEFAULT_SHUTDOWN_TIMEOUT):
   * a handler still running at the deadline is reported and not waited for.
   */
  timeout?: number;
}

export interface SignalOptions extends ShutdownOptions {
  /** The signals to handle (default EXIT_SIGNALS). */
  signals?: readonly string[];
  /**
   * Also drain on an uncaught exception or unhandled rejection, awaiting
   * handlers under the same deadline, then exit with 1 (SPEC H4), as
   * close-with-grace does. Default false: the host's own behaviour, with a
   * synchronous drain at exit.
   */
  uncaughtErrors?: boolean;
}

/** What a host supplies: the mechanics of exiting, signals and errors; the policy is here. */
export interface Host {
  /** The code the process would end with if it ended now. */
  exitCode(): number;
  setExitCode(code: number): void;
  /** Ends the process the ordinary way (its exit event runs), whatever replaced the exit function. */
  exit(code: number): never;
  /** Ends the process at once, running no handler. */
  exitNow(code: number): never;
  /** Whether each handler is to be traced as it ends (WASM_ATEXIT_TRACE=1). */
  tracing(): boolean;
  /** Puts `exit` in place of the host's exit function(s), until the returned undo is called. */
  replaceExit(exit: (code: number | undefined) => never): () => void;
  /** What carries a handler's scope through its awaits (AsyncLocalStorage); undefined where the host has none. */
  scopeCarrier(): ScopeCarrier | undefined;
  /**
   * Calls `handler(signal)` on each of `signals` that no application
   * listener handles (the listeners of exit libraries are not the
   * application's, and are held back while a drain runs); returns the undo.
   */
  listenForSignals(signals: readonly string[], handler: (signal: string) => void): () => void;
  /** 128 + the signal's number: the status a shell shows for a death by it. */
  signalCode(signal: string): number;
  /**
   * Ends the process by `signal` once no listener of ours is left: hands it
   * to the exit libraries' listeners held back during the drain, else
   * re-raises it, so the parent sees the real cause.
   */
  raise(signal: string): void;
  /**
   * Calls `handler(code)` at the program's end event (Node's `exit`, Deno's
   * `unload`, a page's `pagehide`), where what is still pending runs
   * synchronously (R12), with the code the program ends with.
   */
  onEnd(handler: (code: number) => void): void;
  /** Calls `handler(busy)` each time the program runs out of work; `busy()` tells whether something has scheduled more since. */
  onIdle(handler: (busy: () => boolean) => void): void;
  /** Calls `handler(err)` with an uncaught error or rejection that is about to end the program. */
  onFatalError(handler: (err: unknown) => void): void;
  /** Calls `handler(err)` for uncaught errors and rejections no application listener handles; returns the undo. */
  catchUncaught(handler: (err: unknown) => void): () => void;
}

/** One handleSignals() call: the signals it asked for, its deadline, whether it handles uncaught errors. */
interface Claim {
  signals: readonly string[];
  timeout: number;
  uncaughtErrors: boolean;
}

/** A promise that never settles: what a caller awaits while the process ends. */
const never = <T>(): Promise<T> => new Promise<T>(() => {});

function timeoutOf(api: string, options: ShutdownOptions): number {
  const timeout = options.timeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  checkInteger(api, "timeout", timeout, 0, 2 ** 31 - 1);
  return timeout;
}

export class Shutdown {
  /** The drains running now, synchronous or awaited, innermost last. */
  private readonly running: Drain[] = [];
  /** Puts the host's exit function back; set while any drain runs. */
  private restoreExit: (() => void) | undefined;
  /** The awaited drain under way, until it ends or the exit event takes it over. */
  private awaited: Drain | undefined;
  /** Why the program ends (H4), once an uncaught error has doomed it. */
  private reason: unknown;
  private readonly claims = new Set<Claim>();
  private stopListening: (() => void)[] = [];
  private readonly calls: HandlerCalls;

  constructor(
    private readonly stack: Stack & { pending(): number },
    private readonly host: Host,
    private readonly reports: Reports,
  ) {
    this.calls = new HandlerCalls(() => host.scopeCarrier());
    host.onEnd((code) => this.atExit(code));
    host.onIdle((busy) => this.idle(busy));
    host.onFatalError((err) => {
      this.reason = err;
    });
  }

  /** runExitHandlers(): drain now; exit if a handler asked to, else throw the last failure. */
  runNow(): void {
    const drain = this.newDrain(this.host.exitCode(), null);
    this.during(drain, () => drain.runSync());
    this.finishSync(drain);
  }

  /** Runs `body` (which runs guest handlers through the core) as a synchronous drain: dispose(). */
  runGuestsNow(body: (drain: Drain) => void): void {
    const drain = this.newDrain(this.host.exitCode(), null);
    this.during(drain, () => body(drain));
    this.finishSync(drain);
  }

  async shutdown(code: number | undefined, options: ShutdownOptions): Promise<never> {
    if (code !== undefined) checkInteger("shutdown", "code", code, -(2 ** 31), 2 ** 31 - 1);
    const timeout = timeoutOf("shutdown", options);
    // Joining the drain under way, its code is asked for, as a handler's exit would be.
    const started = this.joinOrStart(code ?? this.host.exitCode(), null, (ending) => ending.requestExit(code));
    if (started) {
      await this.runAwaited(started, timeout);
      this.end(started);
    }
    return never();
  }

  /**
   * Drains with awaiting after a WASI program has ended (runWasi): resolves
   * to the code the command ends with. A signal that joined the drain ends
   * the process by it.
   */
  async drainThenExitCode(code: number): Promise<number> {
    const drain = this.newDrain(code, null);
    await this.runAwaited(drain, this.claimedTimeout());
    if (drain.ending.bySignal) {
      this.end(drain);
      return never();
    }
    return drain.ending.exitCode(code);
  }

  /** Whether a drain is running now: an exit then is a request, not the program's end. */
  isDraining(): boolean {
    return this.running.length > 0;
  }

  handleSignals(options: SignalOptions): () => void {
    const timeout = timeoutOf("handleSignals", options);
    const signals = options.signals ?? EXIT_SIGNALS;
    if (!Array.isArray(signals) || signals.some((s) => typeof s !== "string" || !/^SIG[A-Z0-9]+$/.test(s) || UNCATCHABLE.has(s))) {
      throw new TypeError(
        `wasm-atexit: handleSignals: signals must be an array of catchable signal names such as "SIGTERM", got ${describe(signals)}`,
      );
    }
    const claim: Claim = { signals: [...signals], timeout, uncaughtErrors: options.uncaughtErrors === true };
    this.claims.add(claim);
    this.listen();
    let undone = false;
    return () => {
      if (undone) return;
      undone = true;
      this.claims.delete(claim);
      this.listen();
    };
  }

  /** The host's end event: whatever is still pending runs now, synchronously (R12). */
  private atExit(code: number): void {
    // Nothing to run and nothing to take over: the common end, after the
    // drain at beforeExit; the exit code stays what the program set.
    if (this.awaited === undefined && this.stack.pending() === 0) return;
    // An awaited drain cut short by an ordinary exit goes on here (H2).
    const drain = this.awaited ?? this.newDrain(code, null);
    this.awaited = undefined;
    drain.ending.exitEvent(code);
    this.during(drain, () => drain.runSync());
    // A handler may also have set the host's exit code itself.
    this.host.setExitCode(drain.ending.exitCode(this.host.exitCode()));
  }

  // Every handleSignals() call, of every copy of the package, acts as one:
  // one listener per signal, for the union of the signals claimed.
  private listen(): void {
    for (const stop of this.stopListening) stop();
    this.stopListening = [];
    const signals = new Set<string>();
    let uncaughtErrors = false;
    for (const claim of this.claims) {
      for (const signal of claim.signals) signals.add(signal);
      uncaughtErrors ||= claim.uncaughtErrors;
    }
    if (signals.size > 0) this.stopListening.push(this.host.listenForSignals([...signals], (signal) => this.signal(signal)));
    if (uncaughtErrors) this.stopListening.push(this.host.catchUncaught((err) => this.uncaught(err)));
  }

  /** The shortest deadline any handleSignals() call asked for: the one an orchestrator's SIGKILL follows. */
  private claimedTimeout(): number {
    let timeout = Infinity;
    for (const claim of this.claims) timeout = Math.min(timeout, claim.timeout);
    return timeout === Infinity ? DEFAULT_SHUTDOWN_TIMEOUT : timeout;
  }

  private signal(signal: string): void {
    const code = this.host.signalCode(signal);
    const started = this.joinOrStart(code, signal, (ending) => {
      // A second signal during a drain ends the process at once (H1).
      if (ending.signalled) this.raiseNow(signal);
      else ending.joinSignal(signal, code);
    });
    if (started) this.runThenEnd(started);
  }

  private uncaught(err: unknown): void {
    this.reason = err;
    this.reports.uncaught(err);
    const started = this.joinOrStart(1, null, (ending) => ending.joinUncaught(err));
    if (started) this.runThenEnd(started);
  }

  // The program ran out of work (R12, H2). An application's beforeExit
  // listener that scheduled more work means the program goes on, with
  // everything still pending; the drain waits for the loop to be empty for
  // good. A drain under way ends the program itself.
  private idle(busy: () => boolean): void {
    if (this.running.length > 0 || this.stack.pending() === 0 || busy()) return;
    const drain = this.newDrain(this.host.exitCode(), null);
    const done = this.runAwaited(drain, DEFAULT_SHUTDOWN_TIMEOUT);
    if (done === undefined) this.afterIdleDrain(drain, busy);
    else void done.then(() => this.afterIdleDrain(drain, busy));
  }

  /** How the program goes on after the drain at the natural end: it ends, or the loop runs dry again. */
  private afterIdleDrain(drain: Drain, busy: () => boolean): void {
    const { ending } = drain;
    if (ending.requested !== undefined || ending.bySignal) return this.end(drain);
    this.host.setExitCode(ending.exitCode(this.host.exitCode()));
    // Having awaited, the loop ran again: end now rather than let it run
    // dry a second time, which would call beforeExit listeners twice.
    if (drain.awaited && !busy()) this.host.exit(this.host.exitCode());
  }

  /**
   * What arrives to end the program (a signal, shutdown(), an uncaught
   * error) joins the drain under way, changing its Ending by `join`; with
   * none under way, it starts an awaited drain, returned, whose Ending it
   * changes the same way, for the caller to run.
   */
  private joinOrStart(code: number, signal: string | null, join: (ending: Ending) => void): Drain | undefined {
    const under = this.running.at(-1);
    if (under) {
      join(under.ending);
      return undefined;
    }
    const drain = this.newDrain(code, signal);
    join(drain.ending);
    return drain;
  }

  /**
   * Runs `drain` with awaiting under the handleSignals() deadline, then ends
   * the process, always from a later microtask: a signal is re-raised once
   * every listener of the event has been called.
   */
  private runThenEnd(drain: Drain): void {
    void Promise.resolve(this.runAwaited(drain, this.claimedTimeout())).then(() => this.end(drain));
  }

  /** Ends the process after an awaited drain: by the signal, else with the code asked for. */
  private end(drain: Drain): void {
    const { ending } = drain;
    if (ending.bySignal && ending.signal !== null) this.raiseNow(ending.signal);
    else this.host.exit(ending.exitCode(ending.code));
  }

  private raiseNow(signal: string): void {
    for (const stop of this.stopListening) stop();
    this.stopListening = [];
    this.host.raise(signal);
  }

  /**
   * Runs `drain` awaiting handlers' promises, under `timeout`. It tells an
   * exit() from an async handler's awaits, carried by AsyncLocalStorage,
   * from anyone else's: a server's, an application's unref'd timer at the
   * natural end (H2).
   */
  private runAwaited(drain: Drain, timeout: number): Promise<void> | undefined {
    const deadline = now() + timeout;
    const done = this.during(drain, () => drain.runAwaited(deadline, timeout));
    // Undefined: no handler returned a promise, and the drain has ended.
    if (done === undefined) return undefined;
    this.awaited = drain;
    return done.finally(() => {
      if (this.awaited === drain) this.awaited = undefined;
    });
  }

  // After a synchronous drain outside the exit event: exit if a handler
  // asked to, else throw the last failure.
  private finishSync(drain: Drain): void {
    const { ending } = drain;
    if (ending.requested !== undefined) this.host.exit(ending.exitCode(ending.requested));
    if (ending.failed) throw ending.error;
  }

  private newDrain(code: number, signal: string | null): Drain {
    const ending = new Ending(code, signal, this.reason);
    // Whether to trace is asked once a drain: reading the environment
    // costs more than running a handler.
    return new Drain({ stack: this.stack, reports: this.reports, ending, calls: this.calls, tracing: this.host.tracing() });
  }

  /** Runs `body` as drain `drain`, with the exit function replaced while any drain runs. */
  private during<T>(drain: Drain, body: () => T): T {
    const { running } = this;
    if (running.push(drain) === 1) this.restoreExit = this.host.replaceExit((code) => this.exitCalled(code));
    const left = () => {
      running.splice(running.lastIndexOf(drain), 1);
      if (running.length === 0) this.restoreExit!();
    };
    let result: T;
    try {
      result = body();
    } catch (err) {
      left();
      throw err;
    }
    if (result instanceof Promise) return result.finally(left) as T;
    left();
    return result;
  }

  // The host's exit function while a drain runs.
  private exitCalled(code: number | undefined): never {
    if (code !== undefined) checkExitCode("process.exit", code);
    if (this.calls.fromHandler()) throw new ExitRequest(code);
    // Not a handler (a timer, a server's callback): an ordinary exit. The
    // code asked for is kept; the drain at the exit event takes over.
    if (code !== undefined) this.awaited?.ending.requestExit(code);
    return this.host.exit(code ?? this.host.exitCode());
  }
}
