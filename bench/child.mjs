// One fresh process of the cold benchmark (bench/index.mjs):
//   node bench/child.mjs <library> <N> [memory]
// Loads the library, registers N distinct closures made beforehand, and lets
// the program end by itself; the handlers time the drain at the natural end.
// Prints one JSON line: import, first registration and register (each in
// ms), drain (ms: from the first handler called to the last) and exit (ms:
// from the end of registering to the last handler, which also counts what
// a library does at exit before its first handler), and with "memory"
// (under --expose-gc) the bytes per pending registration, JS heap and Wasm
// memory together.
import { writeSync } from "node:fs";
import { LIBRARIES } from "./libraries.mjs";

const [library, size, memoryMode] = process.argv.slice(2);
const n = Number(size);
const measureMemory = memoryMode === "memory";

const heap = () => {
  globalThis.gc();
  const wasm = globalThis[Symbol.for("wasm-atexit.runtime")]?.internals.memory.buffer.byteLength ?? 0;
  return process.memoryUsage().heapUsed + wasm;
};

const started = performance.now();
const register = await LIBRARIES[library]();
const imported = performance.now();

// Distinct closures, as a program's are. The oldest and the newest time the
// drain: whichever runs first starts the clock, the other stops it and
// reports, so the figure is the same whatever order a library runs them in.
let first;
let report = { library, n };
const mark = () => {
  const now = performance.now();
  if (first === undefined) first = now;
  else writeSync(1, JSON.stringify({ ...report, drain: now - first, exit: now - t2 }) + "\n");
};
const fns = new Array(n);
for (let i = 0; i < n; i++) fns[i] = i === 0 || i === n - 1 ? () => mark() : () => {};

const before = measureMemory ? heap() : 0;
const t0 = performance.now();
register(fns[0]);
const t1 = performance.now();
for (let i = 1; i < n; i++) register(fns[i]);
const t2 = performance.now();
report = { ...report, import: imported - started, first: t1 - t0, register: t2 - t0 };
if (measureMemory) {
  // The closures stay referenced by `fns` before and after, so only what
  // the library keeps per registration is counted.
  report.bytesPerRegistration = (heap() - before) / n;
}
