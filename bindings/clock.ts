// The one clock of drains: shutdown deadlines and trace timings.
//
// Milliseconds from a monotonic clock. On Node (and Bun) it is
// process.hrtime, not performance.now(): there the global `performance` is
// made on first use, which loads node:perf_hooks, about a millisecond added
// to the end of every program that had not touched it (SPEC P7; see
// `npm run bench`). Browsers and Deno have no such cost.

const hrtime = (globalThis as { process?: { hrtime?: { bigint?: () => bigint } } }).process?.hrtime;

export const now: () => number =
  typeof hrtime?.bigint === "function" ? () => Number(hrtime.bigint!()) / 1e6 : () => performance.now();
