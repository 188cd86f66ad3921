// The harness of bench/warm.mjs: warm loops in one process, each case
// against a baseline timed in the same rounds.
import { interleave, median } from "../lib.mjs";

export const ROUNDS = 7;

/**
 * Times each case once per round, cases interleaved, after one warm-up round;
 * returns the median nanoseconds per operation of each. A case is
 * { setup() -> state, body(state), teardown(state) }; only body is timed.
 */
export function compare(ops, cases) {
  const timeOnce = ({ setup = () => undefined, body, teardown = () => {} }) => () => {
    const state = setup();
    const start = process.hrtime.bigint();
    body(state);
    const elapsed = Number(process.hrtime.bigint() - start);
    teardown(state);
    return elapsed / ops;
  };
  const samples = interleave(ROUNDS + 1, Object.fromEntries(Object.entries(cases).map(([name, c]) => [name, timeOnce(c)])));
  return Object.fromEntries(Object.entries(samples).map(([name, times]) => [name, median(times.slice(1))]));
}

export function shuffled(n) {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
