// The batch protocol between the exit stack (stack.ts), which takes JS
// handlers from the core a batch at a time, and the drain (drain.ts), which
// calls them without asking the stack for each one. What it guarantees:
//
// - A batch's handlers are handed out in the order the core gave them, each
//   at most once, and each is counted before it is called: the stack,
//   settling the batch, forgets exactly those handed out (they ran, or are
//   running) and puts the rest back (`handedOut`).
// - Once the stack changes under a batch (a registration, a removal, a
//   settle), `interruptBatch()` makes every drain holding it stop after the
//   handler running now: the drain takes a fresh batch, which sees the
//   change (SPEC R6–R8). A drain holds a batch by its ticket, the epoch at
//   which it was taken.
//
// It is the drain's fast path, so it bends "state in one object": its
// counters are module variables, read or written around every handler, as
// in the interpreter (which runs a short program's drain) a property costs
// more (SPEC P2; see `npm run bench`). Only this module writes them.

import type { Entry, Handler } from "./registration.js";

/**
 * JS handlers the stack took from the core at once: the i-th is
 * entries[top - i] when `top` is not 0 (handles counting down, as
 * registrations linked from one range are), else entries[handles[i]].
 * Written by the stack when it takes a batch.
 */
export interface TakenBatch {
  handles: Int32Array;
  top: number;
  /** The stack's entries, by handle. */
  readonly entries: (Entry | undefined)[];
}

// Moves when the stack changes under the batch, or settles it.
let epoch = 0;
// How many of the batch taken last have been handed out, of `size`.
let handed = 0;
let size = 0;

/** The stack changed under the batch (or settled it): a drain calling it stops after the current handler. */
export function interruptBatch(): void {
  epoch++;
}

/** How many handlers of the batch taken last have been handed out: what the stack forgets when it settles. */
export function handedOut(): number {
  return handed;
}

/** The stack took `taken` handlers: starts handing them out; returns the ticket of this batch. */
export function batchTaken(taken: number): number {
  handed = 0;
  size = taken;
  return epoch;
}

/** A ticket no batch has: a drain holding it takes a batch first. */
export const NO_BATCH = -1;

/** The handle of the batch's `pos`-th handler. */
export function handleAt(batch: TakenBatch, pos: number): number {
  return batch.top !== 0 ? batch.top - pos : batch.handles[pos];
}

/**
 * The batch's next handler, counted as handed out; undefined when the batch
 * is used up or changed since `ticket`. (handleAt written out: the drain
 * calls this for every handler callPlain leaves.)
 */
export function nextEntry(batch: TakenBatch, ticket: number): Entry | undefined {
  if (handed >= size || ticket !== epoch) return undefined;
  const pos = handed++;
  return batch.entries[batch.top !== 0 ? batch.top - pos : batch.handles[pos]];
}

/** Where callPlain stopped after a handler: the handler, and what it threw or returned. */
export interface Stop {
  entry: Handler;
  outcome: unknown;
  threw: boolean;
}

/** The constructor of async functions (bound ones, and Proxies of them, too). */
export const AsyncFunction: unknown = (async () => {}).constructor;
/** The constructor of this realm's ordinary functions: arrows, declarations, methods, bound ones. */
const PlainFunction: unknown = (() => {}).constructor;

/**
 * The drain's common case (SPEC P2): calls the handlers of a batch whose
 * handles count down (batch.top is not 0: registrations linked from one
 * range, no reused record among them), while each is a function registered
 * without arguments (with `checkAsync`, an ordinary function of this realm:
 * not an async one) that returns undefined, counting each as handed out
 * first. It stops when the batch is used up or changed since `ticket`, or
 * before a handler that is not one of those (returning undefined:
 * nextEntry hands that one out); or after one that threw or returned
 * something (returning a Stop).
 * Small, and free of everything else a handler may need, so that V8
 * compiles it early: a short drain runs in the interpreter, where every
 * operation more per handler counts, and a long one would otherwise wait
 * for a large loop's optimised code (see `npm run bench`).
 */
export function callPlain(batch: TakenBatch, ticket: number, checkAsync: boolean): Stop | undefined {
  const { entries, top } = batch;
  let pos = handed;
  const end = size;
  while (pos < end && ticket === epoch) {
    // Typed as what the checks below let through: neither a Call nor a
    // hole reaches the call.
    const entry = entries[top - pos] as Handler;
    if (checkAsync) {
      // One read says both "a function" and "not async": a registration
      // with arguments (a Call), an async function, a generator or a
      // function of another realm is left to the drain's general path,
      // which calls each as it should. In the interpreter, which runs a
      // short program's drain, this costs each handler about 5% less than
      // typeof and then drain.ts's isAsyncFunction (see `npm run bench`).
      try {
        if (entry.constructor !== PlainFunction) return undefined;
      } catch {
        return undefined; // a revoked Proxy, or a throwing getter: the general path reports the call's failure
      }
    } else if (typeof entry !== "function") return undefined;
    handed = ++pos;
    let result: unknown;
    try {
      result = entry();
    } catch (err) {
      return { entry, outcome: err, threw: true };
    }
    if (result !== undefined) return { entry, outcome: result, threw: false };
  }
  return undefined;
}
