// The seed's example in JavaScript: a counter read from a file at start and
// saved by an exit handler, so no one has to remember to call "save" at the
// end; and the goodbye, with positional and keyword arguments.
//
//   node demo/counter.mjs [counter-file]     on its own
//   loaded with --import by demo/start.mjs   beside the C and AssemblyScript
//                                            counters, in WASM_ATEXIT_DEMO_DATA
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import atexit from "wasm-atexit";

const dataDir = process.env.WASM_ATEXIT_DEMO_DATA;
const file = dataDir ? join(dataDir, "counter-js") : (process.argv[2] ?? join(tmpdir(), "wasm-atexit-counter"));

let count = 0;
try {
  count = Number.parseInt(readFileSync(file, "utf8"), 10);
} catch {
  // No counter yet: start from zero.
}

export function incrementCounter(n) {
  count += n;
}

function saveCounter() {
  writeFileSync(file, String(count));
  console.log(`JavaScript saved its counter, ${count}`);
}
atexit.register(saveCounter);

function goodbye(name, adjective) {
  console.log(`Goodbye, ${name}, it was ${adjective} to meet you. (from JavaScript)`);
}
atexit.register(goodbye, "Donny", "nice");
// Python's keyword arguments become a trailing options object:
atexit.register(({ name, adjective }) => goodbye(name, adjective), { adjective: "nice", name: "Walter" });

incrementCounter(1);
console.log(`JavaScript counter is ${count}`);
