// How the program ends after a drain (SPEC R9, R10, H1, H4): the code and
// signal onExit callbacks are given, the exit code asked for, whether a
// signal ends it, whether a handler failed. One per drain, made by the
// policy (shutdown.ts), which reads it to end the program; what arrives
// during the drain (a handler's exit request or failure, a joining signal,
// shutdown() or an uncaught error) changes it only through these methods.

export class Ending {
  #code: number;
  #signal: string | null;
  #reason: unknown;
  #requested: number | undefined;
  #bySignal = false;
  #signalled = false;
  #failed = false;
  #error: unknown;

  constructor(code: number, signal: string | null, reason: unknown) {
    this.#code = code;
    this.#signal = signal;
    this.#reason = reason;
  }

  /** The exit code onExit callbacks are given. */
  get code(): number {
    return this.#code;
  }

  get signal(): string | null {
    return this.#signal;
  }

  /** Why the program ends (SPEC H4): the uncaught error or rejection, if any. */
  get reason(): unknown {
    return this.#reason;
  }

  /** The last exit code asked for during the drain: by a handler (R10), by a joining shutdown(code) or uncaught error. */
  get requested(): number | undefined {
    return this.#requested;
  }

  /** Whether the drain ends by `signal` (a signal came after the last exit code asked for). */
  get bySignal(): boolean {
    return this.#bySignal;
  }

  /** Whether a signal has come during this drain: a second one ends the process at once (H1). */
  get signalled(): boolean {
    return this.#signalled;
  }

  /** Whether a handler failed (R9). */
  get failed(): boolean {
    return this.#failed;
  }

  /** The last thing a failed handler threw. */
  get error(): unknown {
    return this.#error;
  }

  /** A signal joins the drain: it ends by that signal, unless an exit code is asked for after it. */
  joinSignal(signal: string, code: number): void {
    this.#signal = signal;
    this.#code = code;
    this.#signalled = true;
    this.#bySignal = true;
  }

  /** An exit code is asked for during the drain (R10): the last one asked for wins. */
  requestExit(code: number | undefined): void {
    this.#requested = this.#code = code ?? this.#code;
    this.#bySignal = false;
  }

  /** An uncaught error or rejection joins the drain (H4): it ends with 1. */
  joinUncaught(err: unknown): void {
    this.#reason = err;
    this.requestExit(1);
  }

  /** The host's exit event comes with `code`: the code onExit callbacks get, unless one was asked for. */
  exitEvent(code: number): void {
    if (this.#requested === undefined) this.#code = code;
  }

  /** A handler failed (R9). */
  fail(error: unknown): void {
    this.#failed = true;
    this.#error = error;
  }

  /**
   * The code the program ends with: the one asked for, else `otherwise`,
   * but never one a shell reads as 0 (its low 8 bits: exit(256) is 0) when
   * a handler failed (R9).
   */
  exitCode(otherwise: number): number {
    const code = this.#requested ?? otherwise;
    return this.#failed && (code & 0xff) === 0 ? 1 : code;
  }
}
