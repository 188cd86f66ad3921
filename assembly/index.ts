// The wasm-atexit core: the one last-in-first-out stack of pending exit
// handlers, shared by JavaScript and every Wasm guest, and the drain. The
// bindings keep the JavaScript values the core cannot hold (functions,
// argument lists); every decision about what is pending and in which order
// it runs is made here.
//
// Memory layout. Everything the core owns is a 24-byte record in linear
// memory, record `r` at `base + r * 24`; record 0 is never used, so 0 means
// "none" in every link. A handle is a record index. What the six words hold
// depends on the kind, in the low 4 bits of TAG:
//
//   registration    +0 OLDER   the registration below on the stack (0: bottom)
//   (JS, GUEST,     +4 NEWER   the registration above (0: top)
//   GUEST_NO_ARG)   +8 PREV    JS: ring of the same function's registrations;
//                              guest: ARG, the argument for the handler
//                   +12 NEXT   JS: ring, next
//                   +16 TAG    kind | owner << 4
//                   +20 KEY    JS: the function's key (the record anchoring
//                              its ring); guest: SLOT, the handler's index in
//                              the core's function table
//   GHOST           a JS key whose own registration is gone (see below)
//   OWNER           one per guest: +0 COUNT pending, +4 QUOTA, +8 LEFT (while
//                   disposing: registrations still to run), +16 TAG
//   FREE            +0 links the free list
//
// Rings make `unregister(fn)` cost O(registrations of fn), never a scan of
// the stack (SPEC R5), and removing one handle O(1). A function's key is the
// record of its first registration. When that registration leaves the stack
// while later ones of the same function are still pending, its record stays
// behind as a GHOST that anchors the ring, so keys never move; the ghost is
// freed with the ring's last member.
//
// Guest handlers are called from here, through this module's own table
// (`call_indirect`), into which the bindings copy each guest function at its
// first registration (SPEC G7). JavaScript owns owner 0.

import { OK, ERR_NO_MEMORY, ERR_NOT_PENDING, ERR_QUOTA, ERR_DISPOSED } from "./errors";
import { host } from "./host";

const RECORD: u32 = 24;
const OLDER: u32 = 0;
const NEWER: u32 = 4;
const PREV: u32 = 8;
const NEXT: u32 = 12;
const TAG: u32 = 16;
const KEY: u32 = 20;
const ARG: u32 = PREV;
const SLOT: u32 = KEY;
const COUNT: u32 = 0;
const QUOTA: u32 = 4;
const LEFT: u32 = 8;

// Kinds of record.
const FREE: u32 = 0;
const JS: u32 = 1;
const GHOST: u32 = 2;
const GUEST: u32 = 3; // a guest handler taking its i32 argument
const GUEST_NO_ARG: u32 = 4; // a guest handler taking nothing
const OWNER: u32 = 5;
const DISPOSING: u32 = 6; // an owner whose registrations are being run or dropped

const HOST_OWNER: u32 = 0;
const PAGE: u32 = 65536;

const base: usize = (__heap_base + 7) & ~7;
let capacity: u32 = 0; // records that fit in the memory we have
let fresh: u32 = 1; // the lowest record never handed out
let freeList: u32 = 0;
let top: u32 = 0;
let pending: u32 = 0;
let inUse: u32 = 0; // records handed out and not yet freed
let pageLimit: i32 = 65536; // the most pages the core may grow to
/** The table slot of the guest handler called last: the one that ran, or trapped. Read by the bindings. */
export let lastGuestSlot: u32 = 0;
let taken: u32 = 0; // a guest registration next() stopped at (see runTaken)

/** What next(true) returns when it stopped before a guest's handler: no handle is this. */
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

/** Hands out a record, growing memory when needed; 0 when it cannot. */
function allocate(): u32 {
  let r = freeList;
  if (r) {
    freeList = get(r, OLDER);
  } else {
    if (fresh >= capacity && !grow()) return 0;
    r = fresh++;
  }
  inUse++;
  return r;
}

/**
 * Makes room for at least one more record: first in the memory the module
 * already has, then by growing it by about an eighth, so that the slack
 * stays small (SPEC P6) while growth stays amortised O(1).
 */
function grow(): bool {
  let pages = memory.size();
  capacity = recordsIn(pages);
  if (fresh < capacity) return true;
  let more = max(pages >> 3, 1);
  if (pages + more > pageLimit) more = pageLimit - pages;
  if (more <= 0 || memory.grow(more) < 0) return false;
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

/**
 * Frees what JS registration `r` (already off the stack) held. Returns true
 * when its function has no registration left, so the bindings can forget
 * the function.
 */
function retire(r: u32): bool {
  let key = get(r, KEY);
  if (r == key) {
    // The ring's anchor: free it only when it is alone in its ring.
    if (get(r, NEXT) != r) {
      set(r, TAG, GHOST);
      return false;
    }
    release(r);
    return true;
  }
  let prev = get(r, PREV);
  let next = get(r, NEXT);
  set(prev, NEXT, next);
  set(next, PREV, prev);
  release(r);
  if (kindOf(key) == GHOST && get(key, NEXT) == key) {
    release(key);
    return true;
  }
  return false;
}

/** Takes pending registration `r` off the stack without running it. */
function drop(r: u32): void {
  takeOffStack(r);
  if (kindOf(r) == JS) host.released(r, retire(r));
  else release(r);
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
 * Registers a JavaScript handler on top of the stack. `key` is the key of the
 * function's earlier registrations, or 0 for a function with none pending.
 * Returns the new handle (which is also the key when `key` was 0), or
 * ERR_NO_MEMORY with nothing changed.
 */
export function pushJs(key: u32): i32 {
  let r = allocate();
  if (!r) return ERR_NO_MEMORY;
  set(r, TAG, JS | (HOST_OWNER << 4));
  if (key) {
    assert(kindOf(key) == JS || kindOf(key) == GHOST, "pushJs: not a key");
    let next = get(key, NEXT);
    set(key, NEXT, r);
    set(r, PREV, key);
    set(r, NEXT, next);
    set(next, PREV, r);
    set(r, KEY, key);
  } else {
    set(r, PREV, r);
    set(r, NEXT, r);
    set(r, KEY, r);
  }
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
 * Removes every pending registration of the function `key`. The key is
 * gone afterwards: the bindings forget the function.
 */
export function removeAll(key: u32): void {
  assert(kindOf(key) == JS || kindOf(key) == GHOST, "removeAll: not a key");
  let r = get(key, NEXT);
  while (r != key) {
    let next = get(r, NEXT);
    takeOffStack(r);
    release(r);
    host.released(r, false);
    r = next;
  }
  if (kindOf(key) == JS) {
    takeOffStack(key);
    host.released(key, false);
  }
  release(key);
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
 * The drain's step. Takes the newest pending registration off the stack and
 * frees its record; a guest's handler is called right here, and the loop
 * goes on. A JavaScript one is handed to the bindings to call: its handle,
 * negated when it was its function's last registration (the bindings may
 * forget the function); 0 when nothing is pending. As each registration
 * leaves the stack before it is called, a handler that registers (SPEC R6),
 * removes (R7), re-enters the drain (R8), throws or traps (R9) finds the
 * stack consistent, and nothing can run twice.
 *
 * With `stopAtGuests` (tracing), it stops before a guest's handler too and
 * returns TOOK_GUEST; the bindings then time `runTaken()`.
 */
export function next(stopAtGuests: bool): i32 {
  let r: u32;
  while ((r = top)) {
    takeOffStack(r);
    if (kindOf(r) == JS) return retire(r) ? -<i32>r : <i32>r;
    if (stopAtGuests) {
      taken = r;
      return TOOK_GUEST;
    }
    runGuest(r);
  }
  return 0;
}

/** Runs the guest registration next(true) stopped at. */
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
