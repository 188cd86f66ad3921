// The other exit libraries a Node program may hold beside this package —
// signal-exit, exit-hook, close-with-grace — and how their listeners on
// `process` are told from the application's (SPEC H1).
//
// Each of them acts on a signal only when it believes no one else handles
// it; signal-exit, for one, counts `process.listeners(signal)`. Two such
// libraries that do not know each other both stand aside, and the signal is
// swallowed. So this package counts as the application's only the
// listeners that are neither its own nor an exit library's: signal-exit's
// are counted through its global emitter (it marks none of them), exit-hook's
// and close-with-grace's are recognised by their functions.
//
// While this package drains on a signal, exit-hook's and close-with-grace's
// listeners for that signal (which would call process.exit() at once, or
// after their own callbacks) are held back, and handed the signal when the
// drain is over: they then end the process their own way. signal-exit's need
// no holding: while a listener of ours is there, it stands aside by itself,
// and acts on the signal we re-raise.

import { HELD_LISTENER, LISTENER, SIGNAL_EXIT_EMITTER } from "./globals.js";
import { EXIT_SIGNALS } from "./shutdown.js";


type Listener = ((...args: unknown[]) => unknown) & { listener?: Listener; [LISTENER]?: true; [HELD_LISTENER]?: true };

/** Marks a listener as this package's, for every copy of it. */
export function ours<F extends Function>(listener: F): F {
  (listener as unknown as Listener)[LISTENER] = true;
  return listener;
}

// close-with-grace's listeners, by name; each calls its `run`.
const CLOSE_WITH_GRACE = new Set(["onSignal", "onError", "onNormalExit", "afterFirstSignal", "afterFirstError"]);

/** Whether `fn` is exit-hook's or close-with-grace's listener. Never throws. */
function isExitLibrary(fn: Listener): boolean {
  try {
    const name = fn.name;
    if (name === "bound exit") return true; // exit-hook: exit.bind(undefined, …)
    return CLOSE_WITH_GRACE.has(name) && /\b(run|process\.exit)\(/.test(Function.prototype.toString.call(fn));
  } catch {
    return false; // a listener that cannot be inspected is the application's
  }
}

/** How many listeners every loaded copy of signal-exit (v4, and v3) has on each of its signals. */
function signalExitListeners(): number {
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[SIGNAL_EXIT_EMITTER];
  const v3 = (process as unknown as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__;
  const count = (emitter: { count?: unknown } | undefined) => (typeof emitter?.count === "number" ? emitter.count : 0);
  return count(v4) + count(v3);
}

// The signals signal-exit listens to on POSIX systems: EXIT_SIGNALS is that set.
const SIGNAL_EXIT_SIGNALS = new Set(EXIT_SIGNALS);

/** The listeners on `event` that are the application's: neither ours nor an exit library's. */
export function applicationListeners(event: string): number {
  let count = 0;
  for (const raw of process.rawListeners(event) as Listener[]) {
    const fn = raw.listener ?? raw;
    if (raw[LISTENER] || fn[LISTENER] || raw[HELD_LISTENER] || isExitLibrary(fn)) continue;
    count++;
  }
  if (SIGNAL_EXIT_SIGNALS.has(event)) count -= signalExitListeners();
  return Math.max(0, count);
}

// Signals this package is draining on now, and the exit libraries' calls
// held back until then.
const holding = new Set<string>();
const held = new Map<string, (() => void)[]>();

/** From now on, exit libraries' listeners on `signal` wait for our drain. */
export function holdDuringDrain(signal: string): void {
  holding.add(signal);
}

/**
 * The end of our drain on `signal`: calls the exit libraries' listeners held
 * back meanwhile; returns false when there were none.
 */
export function releaseHeld(signal: string): boolean {
  holding.delete(signal);
  const calls = held.get(signal) ?? [];
  held.delete(signal);
  for (const call of calls) call();
  return calls.length > 0;
}

/**
 * Wraps the exit libraries' listeners on `event`, so that while we drain on
 * it they are held back. The wrapper keeps the original as `.listener`, as
 * Node's `once` wrappers do: `process.listeners()` still shows it and
 * `process.removeListener(event, original)` still removes it.
 */
export function wrapExitLibraries(event: string): void {
  for (const raw of process.rawListeners(event) as Listener[]) {
    const inner = raw.listener ?? raw;
    if (raw[HELD_LISTENER] || raw[LISTENER] || !isExitLibrary(inner)) continue;
    const once = inner !== raw;
    const wrapper: Listener = function (this: unknown, ...args: unknown[]) {
      if (once) process.removeListener(event, wrapper);
      if (!holding.has(event)) return inner.apply(this, args);
      const calls = held.get(event) ?? [];
      calls.push(() => inner.apply(process, args));
      held.set(event, calls);
    };
    wrapper.listener = inner;
    wrapper[HELD_LISTENER] = true;
    process.removeListener(event, raw);
    process.on(event, wrapper);
  }
}
