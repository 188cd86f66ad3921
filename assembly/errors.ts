// Status codes returned by the core's exports. Negative values are errors;
// bindings/errors.ts turns them into messages, and the guest ABI documents
// them, so their numbers never change.

export const OK: i32 = 0;
/** Linear memory could not grow: nothing was registered. */
export const ERR_NO_MEMORY: i32 = -1;
/** The handle is not a pending registration (never was, ran, or removed). */
export const ERR_NOT_PENDING: i32 = -2;
/** The handle is pending but belongs to another owner. */
export const ERR_NOT_OWNER: i32 = -3;
