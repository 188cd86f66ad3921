// One fresh process of SPEC P3 (bench/index.mjs):
//   node bench/removal.mjs <N>
// Registers N distinct closures with onExit and removes them all through
// their removers, one by one, in random order; then deletes the same
// closures, in the same order, from a Set, whose delete is O(1): the Set
// pays the same cache misses as N grows, so the ratio to it is what stays
// flat when removal is linear in N. Prints both, in ns per removal. A first
// pass over 1,000 registrations warms the code, so that the figure at small
// N is not the interpreter's: P3 is about growth.
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

const perRemoval = (size, body) => {
  const start = performance.now();
  body();
  return ((performance.now() - start) * 1e6) / size;
};

function removeAll(size) {
  const fns = Array.from({ length: size }, () => () => {});
  const order = shuffled(fns.map((fn, i) => i));
  const removers = fns.map((fn) => onExit(fn));
  const removal = perRemoval(size, () => {
    for (const i of order) removers[i]();
  });
  if (count() !== 0) throw new Error(`${count()} registrations left after removing all ${size}`);
  const set = new Set(fns);
  const setDelete = perRemoval(size, () => {
    for (const i of order) set.delete(fns[i]);
  });
  return { n: size, removal, setDelete };
}

removeAll(1000);
console.log(JSON.stringify(removeAll(n)));
