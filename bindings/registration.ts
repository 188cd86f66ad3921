// What a pending JS registration calls: its function with no arguments, or
// a Call. The stack keeps these by handle (stack.ts); drains call them
// (drain.ts, batch.ts).

export type Handler = (...args: any[]) => unknown;

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
