// What an exit() called while handlers run means (SPEC R10, H2): made by a
// handler — synchronously, or after an await inside it — it is an exit
// request, which ends that handler only, as Python's SystemExit does; made
// by anything else (a timer, a server's callback) it is an ordinary exit.
// HandlerCalls, one per policy, keeps what tells the two apart.

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

/** Which code is a handler's, across every drain of the thread, nested ones included. */
export class HandlerCalls {
  // Handlers being called synchronously right now: an exit() made while
  // this is above 0 comes from a handler.
  #depth = 0;
  // The scope of the awaited handler whose promise carries none (see untracked()).
  #untracked: HandlerScope | undefined;
  #carrier: ScopeCarrier | undefined;

  /**
   * `makeCarrier`: the host's AsyncLocalStorage-backed carrier, made only
   * when an awaited drain first meets an async function, as the storage
   * costs every promise once it is used.
   */
  constructor(private readonly makeCarrier: () => ScopeCarrier | undefined) {}

  carrier(): ScopeCarrier | undefined {
    return (this.#carrier ??= this.makeCarrier());
  }

  /** Handlers are being called synchronously from now until the matching leave(). */
  enter(): void {
    this.#depth++;
  }

  leave(): void {
    this.#depth--;
  }

  /**
   * The scope of an awaited handler that is not an async function: what its
   * promise runs carries no scope, so an exit() outside every handler's
   * scope is taken as this one's while it is awaited.
   */
  untracked(): HandlerScope {
    return (this.#untracked = { live: true });
  }

  /** Whether the code calling the host's exit function right now is an exit handler (SPEC R10, H2). */
  fromHandler(): boolean {
    if (this.#depth > 0) return true;
    const carrier = this.#carrier;
    const scope = carrier?.current();
    if (scope === undefined) return this.#untracked?.live === true;
    // A timer the handler started is not the handler (H2): throwing an exit
    // request into it would escape as an uncaught exception.
    return scope.live && carrier!.inPromiseJob();
  }
}
