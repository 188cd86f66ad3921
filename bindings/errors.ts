// Error texts and the checks that produce them, so each message is written
// once; and the status codes of the guest ABI (docs/ABI.md). -1 to -5 come
// from the core (assembly/errors.ts), -6 to -8 from the bindings' checks of
// a guest's handler before it reaches the core.

import { describe } from "./report.js";

export const OK = 0;
export const ERR_NO_MEMORY = -1;
export const ERR_NOT_PENDING = -2;
export const ERR_NOT_OWNER = -3;
export const ERR_QUOTA = -4;
export const ERR_DISPOSED = -5;
/** The table index is out of range, or holds no function. */
export const ERR_BAD_INDEX = -6;
/** The function's signature is neither (i32) -> () nor () -> (). */
export const ERR_BAD_SIGNATURE = -7;
/** The guest's table is not attached yet (a start function), or it exports none. */
export const ERR_NO_TABLE = -8;

/** Throws a TypeError naming the parameter unless `value` is a function. */
export function checkFunction(api: string, param: string, value: unknown): asserts value is Function {
  if (typeof value !== "function") {
    throw new TypeError(`wasm-atexit: ${api}: ${param} must be a function, got ${describe(value)}`);
  }
}

/** Throws unless `value` is an integer in [min, max], naming the option. */
export function checkInteger(api: string, param: string, value: unknown, min: number, max: number): asserts value is number {
  if (!Number.isInteger(value)) {
    throw new TypeError(`wasm-atexit: ${api}: ${param} must be an integer, got ${describe(value)}`);
  }
  if ((value as number) < min || (value as number) > max) {
    throw new RangeError(`wasm-atexit: ${api}: ${param} must be from ${min} to ${max}, got ${value}`);
  }
}

/** Throws a TypeError unless `code` is an exit code (an integer, as process.exit takes). */
export function checkExitCode(api: string, code: unknown): asserts code is number {
  if (!Number.isInteger(code)) {
    throw new TypeError(`wasm-atexit: ${api}: code must be an integer, got ${describe(code)}`);
  }
}

/**
 * What a value is, in a word or two ("null", "a string", "an object"), for
 * the optional entries' TypeErrors: report.ts's describe() would be bundled
 * into each entry a second time.
 */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

export function outOfMemory(api: string, pending: number): RangeError {
  return new RangeError(
    `wasm-atexit: ${api}: the core is out of memory with ${pending} handlers pending; ` +
      "nothing was registered and every pending handler is kept",
  );
}
