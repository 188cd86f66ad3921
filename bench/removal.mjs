// One fresh process of SPEC P3 (bench/index.mjs):
//   node --expose-gc bench/removal.mjs <N>
// Registers N distinct closures with onExit and removes them all through
// their removers, one by one, in random order. The baseline does the same
// with N removers that each clear a slot of an array, O(1) by construction:
// they pay the same cache misses as N grows (closures spread over the heap,
// called in random order), so the ratio to them is what stays flat when
// removal is linear in N. Prints both, in ns per removal, each the best of
// three passes. A first pass over 1,000 registrations warms the code, so
// that the figure at small N is not the interpreter's: P3 is about growth.
// A collection before each timed loop keeps the garbage of one from
// landing in the other.
import { importPackage } from "./libraries.mjs";

const { onExit, count } = await importPackage();
const n = Number(process.argv[2]);

function shuffled(values) {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  return values;
}

// CPU time (user and system) of this process, not wall time: on a shared
// machine a loop of milliseconds is often descheduled, which wall time
// counts and this does not.
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

const perRemoval = (size, body) => {
  const start = cpuMicros();
  body();
  return ((cpuMicros() - start) * 1e3) / size;
};

function removeAll(size) {
  const fns = Array.from({ length: size }, () => () => {});
  const order = shuffled(fns.map((fn, i) => i));
  const removers = fns.map((fn) => onExit(fn));
  globalThis.gc();
  const removal = perRemoval(size, () => {
    for (const i of order) removers[i]();
  });
  if (count() !== 0) throw new Error(`${count()} registrations left after removing all ${size}`);
  const slots = [...fns];
  const slotRemovers = fns.map((fn, i) => () => {
    slots[i] = undefined;
  });
  globalThis.gc();
  const baseline = perRemoval(size, () => {
    for (const i of order) slotRemovers[i]();
  });
  return { n: size, removal, baseline };
}

// The best of three passes: what a pass costs when nothing else intervened.
removeAll(1000);
const passes = [removeAll(n), removeAll(n), removeAll(n)];
const best = (figure) => Math.min(...passes.map((pass) => pass[figure]));
console.log(JSON.stringify({ n, removal: best("removal"), baseline: best("baseline") }));
