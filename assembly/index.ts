// The wasm-atexit core: the one last-in-first-out stack of pending exit
// handlers, shared by JavaScript and every Wasm guest, and the drain. The
// bindings keep the JavaScript values the core cannot hold (functions,
// argument lists), by handle; every decision about what is pending and in
// which order it runs is made here.
//
// Memory layout. Everything the core owns is a 20-byte record in linear
// memory, record `r` at `base + r * 20`; record 0 is never used, so 0 means
// "none" in every link. A handle is a record index. What the five words
// hold depends on the kind, in the low 4 bits of TAG:
//
//   registration    +0 OLDER   the registration below on the stack (0: bottom)
//   (JS, GUEST,     +4 NEWER   the registration above (0: top)
//   GUEST_NO_ARG)   +8 TAG     kind | owner << 4 (JavaScript is owner 0)
//                   +12 SLOT   guest: the handler's index in the core's table
//                   +16 ARG    guest: the argument for the handler
//   OWNER           one per guest: +0 COUNT pending, +4 QUOTA, +8 TAG,
//                   +12 LEFT (while disposing: registrations still to run)
//   FREE            +0 links the free list
//
// JavaScript crosses into the core in batches (SPEC P1, P2). Registering
// takes handles from a RANGE of fresh records reserved beforehand, with no
// call here; the bindings `link` the used part, in order, before anything
// reads or reorders the stack. A drain `take`s several JS registrations at
// once off the top, into BATCH; before any other call the bindings `settle`
// it, freeing those that ran and putting the rest back on top, so a handler
// that registers (R6), removes (R7) or drains (R8) meets the stack as if
// they had been taken one at a time.
//
// Guest handlers are called from here, through this module's own table
// (`call_indirect`), into which the bindings copy each guest function at its
// first registration (SPEC G7).

import { OK, ERR_NO_MEMORY, ERR_NOT_PENDING, ERR_QUOTA, ERR_DISPOSED } from "./errors";

const RECORD: u32 = 20;
const OLDER: u32 = 0;
const NEWER: u32 = 4;
const TAG: u32 = 8;
const SLOT: u32 = 12;
const ARG: u32 = 16;
const COUNT: u32 = 0;
const QUOTA: u32 = 4;
const LEFT: u32 = 12;

// Kinds of record.
const FREE: u32 = 0; // also a reserved record not linked yet: fresh memory is zero
const JS: u32 = 1;
const GUEST: u32 = 3; // a guest handler taking its i32 argument
const GUEST_NO_ARG: u32 = 4; // a guest handler taking nothing
const OWNER: u32 = 5;
const DISPOSING: u32 = 6; // an owner whose registrations are being run or dropped

const HOST_OWNER: u32 = 0;
const PAGE: u32 = 65536;
/** The most JS handles one `take` hands out. */
const MAX_BATCH: u32 = 1024;

/** Where `take` writes the handles it hands out, newest first. */
export const batch: usize = memory.data(MAX_BATCH * 4);
/**
 * The first handle of the batch when its handles count down by one (the
 * i-th is batchTop - i), as registrations linked from one range are; else
 * 0. The bindings then read no handle from BATCH (SPEC P2).
 */
export let batchTop: u32 = 0;
const base: usize = (__heap_base + 7) & ~7;
let capacity: u32 = 0; // records that fit in the memory we have
let fresh: u32 = 1; // the lowest record never handed out
let freeList: u32 = 0;
let top: u32 = 0;
let pending: u32 = 0;
let inUse: u32 = 0; // records handed out and not yet freed, reserved ones not counted
let pageLimit: i32 = 65536; // the most pages the core may grow to
let rangeNext: u32 = 0; // the JS range: [rangeNext, rangeEnd) reserved, not linked yet
let rangeEnd: u32 = 0;
let handedOut: u32 = 0; // handles in BATCH not settled yet
/** The table slot of the guest handler called last: the one that ran, or trapped. Read by the bindings. */
export let lastGuestSlot: u32 = 0;
let taken: u32 = 0; // a guest registration take() stopped at (see runTaken)

/** What take(…, true) returns when it stopped before a guest's handler: no count is this. */
const TOOK_GUEST: i32 = i32.MIN_VALUE;

// Field access. Every record index passed here is below `fresh`.
@inline function get(r: u32, field: u32): u32 {
  return load<u32>(base + <usize>r * RECORD + field);
}
@inline function set(r: u32, field: u32, value: u32): void {
  store<u32>(base + <usize>r * RECORD + field, value);
}
@inline function kindOf(r: u32): u32 {
  return get(r, TAG) & 15;
}
@inline function ownerOf(r: u32): u32 {
  return get(r, TAG) >> 4;
}
@inline function batchEntry(i: u32): u32 {
  return load<u32>(batch + (<usize>i << 2));
}

/** Hands out a record, growing memory when needed; 0 when it cannot. */
function allocate(): u32 {
  let r = freeList;
  if (r) {
    freeList = get(r, OLDER);
  } else {
    if (!makeRoom(1)) return 0;
    r = fresh++;
  }
  inUse++;
  return r;
}

/**
 * Makes room for `records` more fresh records: first in the memory the
 * module already has, then by growing it by about an eighth (or what is
 * needed), so that the slack stays small (SPEC P6) while growth stays
 * amortised O(1).
 */
function makeRoom(records: u32): bool {
  let pages = memory.size();
  capacity = recordsIn(pages);
  if (fresh + records <= capacity) return true;
  let more = max(pages >> 3, <i32>((<usize>(fresh + records - capacity) * RECORD + PAGE - 1) / PAGE));
  if (pages + more > pageLimit || memory.grow(more) < 0) return false;
  capacity = recordsIn(pages + more);
  return true;
}

function recordsIn(pages: i32): u32 {
  return <u32>((<usize>pages * PAGE - base) / RECORD);
}

function release(r: u32): void {
  inUse--;
  set(r, TAG, FREE);
  set(r, OLDER, freeList);
  freeList = r;
}

function pushOnTop(r: u32): void {
  set(r, OLDER, top);
  set(r, NEWER, 0);
  if (top) set(top, NEWER, r);
  top = r;
  pending++;
  let owner = ownerOf(r);
  if (owner != HOST_OWNER) set(owner, COUNT, get(owner, COUNT) + 1);
}

function takeOffStack(r: u32): void {
  let older = get(r, OLDER);
  let newer = get(r, NEWER);
  if (newer) set(newer, OLDER, older);
  else top = older;
  if (older) set(older, NEWER, newer);
  pending--;
  let owner = ownerOf(r);
  if (owner != HOST_OWNER) set(owner, COUNT, get(owner, COUNT) - 1);
}

/** Takes pending registration `r` off the stack without running it. */
function drop(r: u32): void {
  takeOffStack(r);
  release(r);
}

function isPending(r: u32): bool {
  if (r == 0 || r >= fresh) return false;
  let kind = kindOf(r);
  return kind == JS || kind == GUEST || kind == GUEST_NO_ARG;
}

/**
 * Calls guest registration `r`, already off the stack, and frees it first:
 * a trap unwinds out of the core with the stack consistent.
 */
function runGuest(r: u32): void {
  let kind = kindOf(r);
  let slot = get(r, SLOT);
  let arg = get(r, ARG);
  release(r);
  // Restored after the call, so that after a re-entrant drain the slot is
  // still this handler's when it traps (SPEC G4).
  let outer = lastGuestSlot;
  lastGuestSlot = slot;
  if (kind == GUEST) call_indirect<void>(slot, arg);
  else call_indirect<void>(slot);
  lastGuestSlot = outer;
}

/**
 * Reserves a range of `records` fresh records for JavaScript registrations
 * and returns its first handle; the bindings hand out the handles in order
 * and `link` them. Returns 0 when freed records wait to be reused (the
 * bindings then `pushJs` one at a time, so memory is not lost to a program
 * that registers and removes for ever), ERR_NO_MEMORY when memory cannot
 * grow. The previous range must be linked up to its end.
 */
export function reserve(records: u32): i32 {
  assert(rangeNext == rangeEnd, "reserve: the range is not linked");
  if (freeList) return 0;
  if (!makeRoom(records)) return ERR_NO_MEMORY;
  rangeNext = fresh;
  fresh += records;
  rangeEnd = fresh;
  return <i32>rangeNext;
}

/** Pushes the range's handles below `upTo` that are not linked yet on top of the stack, oldest first. */
export function link(upTo: u32): void {
  assert(upTo >= rangeNext && upTo <= rangeEnd, "link: outside the range");
  for (let r = rangeNext; r < upTo; r++) {
    set(r, TAG, JS | (HOST_OWNER << 4));
    pushOnTop(r);
  }
  inUse += upTo - rangeNext;
  rangeNext = upTo;
}

/** Registers one JavaScript handler on top of the stack, in a freed record; the handle or ERR_NO_MEMORY. */
export function pushJs(): i32 {
  let r = allocate();
  if (!r) return ERR_NO_MEMORY;
  set(r, TAG, JS | (HOST_OWNER << 4));
  pushOnTop(r);
  return <i32>r;
}

/** Creates the owner of a new guest; returns its id or ERR_NO_MEMORY. */
export function newOwner(quota: u32): i32 {
  let owner = allocate();
  if (!owner) return ERR_NO_MEMORY;
  set(owner, TAG, OWNER);
  set(owner, COUNT, 0);
  set(owner, QUOTA, quota);
  set(owner, LEFT, 0);
  return <i32>owner;
}

/**
 * Registers a guest's handler: table slot `slot`, called as `slot(arg)` or,
 * when `takesArg` is false, `slot()`. Returns the handle or an error code
 * (over the owner's quota, disposed, out of memory) with nothing changed.
 */
export function pushGuest(owner: u32, slot: u32, arg: i32, takesArg: bool): i32 {
  assert(owner > 0 && owner < fresh, "pushGuest: not an owner");
  if (kindOf(owner) != OWNER) return ERR_DISPOSED;
  if (get(owner, COUNT) >= get(owner, QUOTA)) return ERR_QUOTA;
  let r = allocate();
  if (!r) return ERR_NO_MEMORY;
  set(r, TAG, (takesArg ? GUEST : GUEST_NO_ARG) | (owner << 4));
  set(r, SLOT, slot);
  set(r, ARG, arg);
  pushOnTop(r);
  return <i32>r;
}

/**
 * Whether one of `owner`'s pending registrations calls table slot `slot`.
 * The bindings ask before they give a slot of a guest at its quota to
 * another of its functions (SPEC G6); O(pending), and only then.
 */
export function slotPending(owner: u32, slot: u32): bool {
  // Only a guest's registrations on the stack carry an owner other than 0.
  for (let r = top; r; r = get(r, OLDER)) if (ownerOf(r) == owner && get(r, SLOT) == slot) return true;
  return false;
}

/** Pending registrations of one owner. */
export function countOf(owner: u32): i32 {
  return kindOf(owner) == OWNER ? <i32>get(owner, COUNT) : 0;
}

/**
 * Removes one pending registration by handle, in O(1), if `owner` owns it.
 * The handle may be any value a guest passes; another owner's answers as a
 * missing one, so that a guest learns nothing of others' (SPEC G3).
 */
export function remove(owner: u32, handle: u32): i32 {
  if (!isPending(handle) || ownerOf(handle) != owner) return ERR_NOT_PENDING;
  drop(handle);
  return OK;
}

/**
 * Disposes of a guest (SPEC G5, C's __cxa_finalize): takes all its pending
 * registrations off the stack, then runs them newest first, or drops them,
 * and frees the owner. The guest can register nothing from the start. If a
 * handler traps, calling this again goes on with the rest.
 */
export function disposeOwner(owner: u32, run: bool): void {
  if (kindOf(owner) == OWNER) {
    set(owner, TAG, DISPOSING);
    // One pass down the stack, newest first, keeping that order in LEFT.
    let tail: u32 = 0;
    let r = top;
    while (r) {
      let older = get(r, OLDER);
      if (ownerOf(r) == owner) {
        takeOffStack(r);
        set(r, OLDER, 0);
        if (tail) set(tail, OLDER, r);
        else set(owner, LEFT, r);
        tail = r;
      }
      r = older;
    }
  }
  assert(kindOf(owner) == DISPOSING, "disposeOwner: not an owner");
  let r: u32;
  while ((r = get(owner, LEFT))) {
    set(owner, LEFT, get(r, OLDER));
    if (run) runGuest(r);
    else release(r);
  }
  release(owner);
}

/** Drops every pending registration, of every owner, without running it. */
export function clear(): void {
  while (top) drop(top);
}

/**
 * The drain's step. Takes the newest pending registrations off the stack.
 * A guest's handler is called right here (its record freed first), and the
 * loop goes on. JavaScript ones are handed to the bindings to call: up to
 * `max` of them, all JS, newest first, written to BATCH; returns how many,
 * 0 when nothing is pending. As each registration leaves the stack before
 * it is called, a handler that registers (SPEC R6), removes (R7), re-enters
 * the drain (R8), throws or traps (R9) finds the stack consistent, and
 * nothing can run twice.
 *
 * With `stopAtGuests` (tracing), it stops before a guest's handler too and
 * returns TOOK_GUEST; the bindings then time `runTaken()`.
 */
export function take(max: u32, stopAtGuests: bool): i32 {
  assert(handedOut == 0 && max <= MAX_BATCH, "take: a batch is out");
  let r: u32;
  while ((r = top)) {
    if (kindOf(r) == JS) {
      // The batch stays chained by OLDER, as on the stack: settle frees or
      // puts back whole runs of it without walking it again.
      let n: u32 = 0;
      let first = r;
      let counting = true;
      do {
        store<u32>(batch + (<usize>n << 2), r);
        counting &= r == first - n;
        n++;
        r = get(r, OLDER);
      } while (n < max && r && kindOf(r) == JS);
      batchTop = counting ? first : 0;
      top = r;
      if (r) set(r, NEWER, 0);
      pending -= n;
      handedOut = n;
      return <i32>n;
    }
    takeOffStack(r);
    if (stopAtGuests) {
      taken = r;
      return TOOK_GUEST;
    }
    runGuest(r);
  }
  return 0;
}

/**
 * Ends the batch `take` handed out: frees the first `ran` handles (called,
 * or being called), and puts the rest back on top of the stack in their
 * order. The bindings call it before anything else touches the stack, so
 * the stack is still as `take` left it.
 */
export function settle(ran: u32): void {
  let n = handedOut;
  handedOut = 0;
  if (ran) {
    for (let i: u32 = 0; i < ran; i++) set(batchEntry(i), TAG, FREE);
    set(batchEntry(ran - 1), OLDER, freeList);
    freeList = batchEntry(0);
    inUse -= ran;
  }
  if (ran < n) {
    let newest = batchEntry(ran);
    let oldest = batchEntry(n - 1);
    assert(get(oldest, OLDER) == top, "settle: the stack changed");
    set(newest, NEWER, 0);
    if (top) set(top, NEWER, oldest);
    top = newest;
    pending += n - ran;
  }
}

/** Runs the guest registration take(…, true) stopped at. */
export function runTaken(): void {
  let r = taken;
  taken = 0;
  if (!r) return;
  let slot = get(r, SLOT);
  runGuest(r);
  lastGuestSlot = slot; // for the trace line that names it
}

/** Number of pending registrations, of every owner. */
export function count(): i32 {
  return <i32>pending;
}

/** Records in use, of every kind; for tests (leaks) and the benchmark (SPEC P6). */
export function recordsInUse(): i32 {
  return <i32>inUse;
}

/** Caps the pages the core may grow to; lets tests reach out-of-memory. */
export function limitPages(pages: i32): void {
  pageLimit = pages;
}
