// The drain of a stack the core has not seen yet (SPEC P2, P7): a short
// program that registers JS handlers only, and never asks anything that
// needs the core (count() during a drain, unregister(), a remover, clear(),
// a guest), ends without loading, compiling and linking the core at all.
//
// It bends "the core is the one place that decides order" (STYLE 2) on one
// invariant, which the stack (stack.ts) keeps by loading the core before
// anything but a registration changes the stack:
//
// - while the core is not loaded, entries [1, entries.length) are exactly
//   the pending registrations, oldest first, with no gap.
//
// What this module guarantees, given that:
// - a batch taken here is the newest `taken` entries, handles counting down
//   from the last (batch.top), handed out by batch.ts as a core's batch is;
// - settling it drops the handlers handed out (they ran, or are running:
//   R8) from the end, which keeps the invariant, when nothing was
//   registered above the batch meanwhile; otherwise (a handler registered
//   another: R6) it says which handles ran, for the stack to hand the
//   whole stack to the core: it links every entry, and removes those.
// It has no state of its own: a batch is out without the core exactly when
// the stack's `taken` is not 0 while its core is not loaded.

import { handedOut, type TakenBatch } from "./batch.js";

/** Takes the newest pending entries, at most `max`, into `batch`: how many (0 when none is pending). */
export function takeCoreless(batch: TakenBatch, max: number): number {
  const top = batch.entries.length - 1;
  if (top === 0) return 0;
  batch.top = top;
  return Math.min(top, max);
}

/**
 * Settles the batch taken last: the handles that ran, as the range
 * [from, batch.top], still to be removed once the core holds every entry;
 * undefined when they were dropped here.
 */
export function settleCoreless(batch: TakenBatch): number | undefined {
  const { entries, top } = batch;
  const from = top - handedOut() + 1;
  if (entries.length - 1 === top) {
    entries.length = from;
    return undefined;
  }
  return from;
}
