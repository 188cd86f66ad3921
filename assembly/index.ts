// The wasm-atexit core: the one last-in-first-out stack of pending exit
// handlers, and the drain. The bindings keep the JavaScript values the core
// cannot hold (functions, argument lists); every decision about what is
// pending and in which order it runs is made here.
//
// Memory layout. Everything the core owns is a 24-byte record in linear
// memory, record `r` at `base + r * 24`; record 0 is never used, so 0 means
// "none" in every link. A handle is a record index.
//
//   +0  OLDER  the registration below this one on the stack (0: bottom)
//   +4  NEWER  the registration above this one (0: top). A free record uses
//              OLDER as the free list's link.
//   +8  PREV   ring of registrations of the same function: previous
//   +12 NEXT   ring of registrations of the same function: next
//   +16 TAG    kind (low 4 bits) | owner << 4
//   +20 KEY    the function's key: the record that anchors its ring
//
// Rings make `unregister(fn)` cost O(registrations of fn), never a scan of
// the stack (SPEC R5), and removing one handle O(1). A function's key is the
// record of its first registration. When that registration leaves the stack
// while later ones of the same function are still pending, its record stays
// behind as a GHOST that anchors the ring, so keys never move; the ghost is
// freed with the ring's last member.

import { host } from "./host";
import { OK, ERR_NO_MEMORY, ERR_NOT_PENDING, ERR_NOT_OWNER } from "./errors";

const RECORD: u32 = 24;
const OLDER: u32 = 0;
const NEWER: u32 = 4;
const PREV: u32 = 8;
const NEXT: u32 = 12;
const TAG: u32 = 16;
const KEY: u32 = 20;

// Kinds of record.
const FREE: u32 = 0;
const JS: u32 = 1; // a pending JavaScript handler
const GHOST: u32 = 2; // a key whose own registration is gone (see above)

// The owner of JavaScript handlers; Wasm guests get owners of their own.
const HOST_OWNER: u32 = 0;

const PAGE: u32 = 65536;

const base: usize = (__heap_base + 7) & ~7;
let capacity: u32 = 0; // records that fit in the memory we have
let fresh: u32 = 1; // the lowest record never handed out
let freeList: u32 = 0;
let top: u32 = 0;
let pending: u32 = 0;
let inUse: u32 = 0; // records handed out and not yet freed (pending or ghosts)
let pageLimit: i32 = 65536; // the most pages the core may grow to

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
}

function takeOffStack(r: u32): void {
  let older = get(r, OLDER);
  let newer = get(r, NEWER);
  if (newer) set(newer, OLDER, older);
  else top = older;
  if (older) set(older, NEWER, newer);
  pending--;
}

/**
 * Frees what registration `r` (already off the stack) held. Returns true
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

function isPending(r: u32): bool {
  return r > 0 && r < fresh && kindOf(r) == JS;
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

/** Removes one pending registration by handle, in O(1). */
export function remove(owner: u32, handle: u32): i32 {
  if (!isPending(handle)) return ERR_NOT_PENDING;
  if (get(handle, TAG) >> 4 != owner) return ERR_NOT_OWNER;
  takeOffStack(handle);
  host.released(handle, retire(handle));
  return OK;
}

/**
 * Removes every pending registration of the function `key`; returns how
 * many. The key is gone afterwards: the bindings forget the function.
 */
export function removeAll(key: u32): i32 {
  assert(kindOf(key) == JS || kindOf(key) == GHOST, "removeAll: not a key");
  let removed = 0;
  let r = get(key, NEXT);
  while (r != key) {
    let next = get(r, NEXT);
    takeOffStack(r);
    release(r);
    host.released(r, false);
    removed++;
    r = next;
  }
  if (kindOf(key) == JS) {
    takeOffStack(key);
    host.released(key, false);
    removed++;
  }
  release(key);
  return removed;
}

/** Drops every pending registration without running it, newest first. */
export function clear(): void {
  while (top) {
    let r = top;
    takeOffStack(r);
    host.released(r, retire(r));
  }
}

/**
 * The drain's step: takes the newest pending registration off the stack,
 * frees its record and returns its handle, negated when it was its
 * function's last registration (the bindings may then forget the function);
 * 0 when nothing is pending. Because each registration leaves the stack
 * before it is called, a handler that registers (SPEC R6), removes (R7),
 * re-enters the drain (R8) or throws (R9) finds the stack consistent, and
 * nothing can run twice.
 */
export function next(): i32 {
  let r = top;
  if (!r) return 0;
  takeOffStack(r);
  return retire(r) ? -<i32>r : <i32>r;
}

/** Number of pending registrations, of every owner. */
export function count(): i32 {
  return <i32>pending;
}

/** Records in use, pending or ghosts; for tests (leaks) and the benchmark (SPEC P6). */
export function recordsInUse(): i32 {
  return <i32>inUse;
}

/** Caps the pages the core may grow to; lets tests reach out-of-memory. */
export function limitPages(pages: i32): void {
  pageLimit = pages;
}
