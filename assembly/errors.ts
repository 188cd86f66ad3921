// Status codes returned by the core and by the guest ABI's functions.
// Negative values are errors. bindings/errors.ts, docs/ABI.md,
// include/wasm_atexit.h, sdk/assemblyscript and sdk/rust name the same
// numbers; they never change.

export const OK: i32 = 0;
/** Linear memory could not grow: nothing was registered. */
export const ERR_NO_MEMORY: i32 = -1;
/** The handle is not a pending registration (never was, ran, or removed). */
export const ERR_NOT_PENDING: i32 = -2;
/** Reserved: once "another owner's handle". The core now answers ERR_NOT_PENDING, so that a guest learns nothing of others' (SPEC G3). */
export const ERR_NOT_OWNER: i32 = -3;
/** The guest has as many registrations pending as its quota allows. */
export const ERR_QUOTA: i32 = -4;
/** The guest has been disposed of: it can register nothing. */
export const ERR_DISPOSED: i32 = -5;
// -6 to -8 are the bindings' (bindings/errors.ts): the table index, the
// handler's signature, the table not attached yet.
