// npm run bench:warm: the second table of the benchmark, warm loops in one
// process (npm run bench, bench/index.mjs, is the one SPEC's P rules are
// judged by): wasm-atexit against a bare JS array (the floor), signal-exit,
// exit-hook and CPython's atexit (when python3 is present). Every figure is a
// ratio to a baseline measured in the same process, interleaved round by
// round, so a busy machine moves both sides alike. Prints a Markdown table.
//
//   npm run bench:warm                      N = 10^4, 10^5, 10^6
//   BENCH_SIZES=10000,100000 npm run bench:warm
// The harness is bench/warm/compare.mjs, the cases bench/warm/cases.mjs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ns, packed, root, sizes, table } from "./lib.mjs";
import { ROUNDS } from "./warm/compare.mjs";
import {
  AT_EXIT, benchDrain, benchGuests, benchMemory, benchPython, benchRegister, benchStartup, benchUnregisterAll, benchUnregisterOne, closures, drainAtExit,
} from "./warm/cases.mjs";

const SIZES = sizes([1e4, 1e5, 1e6]);

// ---- the report --------------------------------------------------------------

const rows = [];
const row = (...cells) => rows.push(cells);
/** "3.10x (25.0 ns)": a case against its baseline, with its own time per operation. */
const vs = (x, base) => (x === undefined || base === undefined ? "" : `${(x / base).toFixed(2)}x (${ns(x)})`);

console.log(`wasm-atexit benchmark: node ${process.version}, N = ${SIZES.join(", ")}, median of ${ROUNDS} interleaved rounds.`);
console.log("Each cell: time ÷ the row's baseline, measured in the same run (time per operation in brackets).\n");

const memory = benchMemory(SIZES.at(-1));
for (const n of SIZES) {
  const py = benchPython(n);
  const same = benchRegister(n);
  row("register the same closure", n, `array push ${ns(same.array)}`, vs(same.ours, same.array), vs(same.signalExit, same.array), `${vs(same.exitHook, same.array)}, kept once`, vs(py?.register, py?.array));
  const distinct = benchRegister(n, closures(n));
  row("register distinct closures", n, `array push ${ns(distinct.array)}`, vs(distinct.ours, distinct.array), vs(distinct.signalExit, distinct.array), vs(distinct.exitHook, distinct.array), "");
  const drain = benchDrain(n);
  row("drain (runExitHandlers)", n, `reverse loop ${ns(drain.array)}`, vs(drain.ours, drain.array), "", "", vs(py?.drain, py?.loop));
  if (n <= 1e5) {
    const atExit = Object.fromEntries(AT_EXIT.map((library) => [library, drainAtExit(library, n)]));
    const cell = ({ ratio, ns: each }) => `${ratio.toFixed(2)}x (${ns(each)})`;
    row("drain at process exit", n, "reverse loop, in the child", cell(atExit["wasm-atexit"]), cell(atExit["signal-exit"]), cell(atExit["exit-hook"]), "");
  }
  const one = benchUnregisterOne(n);
  row("unregister one", n, `indexOf + splice ${ns(one.array)}`, vs(one.ours, one.array), vs(one.signalExit, one.array), vs(one.exitHook, one.array), py ? ns(py.unregisterOne) : "");
  const all = benchUnregisterAll(n);
  row("unregister all, random order, per removal", n, `Set delete ${ns(all.set)}`, vs(all.ours, all.set), "", "", py?.unregisterAll ? ns(py.unregisterAll) : "");
  if (all.array) row("  … the same with an array (indexOf + splice)", n, `${ns(all.array)}`, vs(all.ours, all.array), "", "", "");
}
for (const n of SIZES.filter((size) => size === 1e4 || size === 1e6)) {
  const g = await benchGuests(n);
  row("guest register, from its own loop", n, `JS register ${ns(g.register.js)}`, vs(g.register.guest, g.register.js), "", "", "");
  row("drain of guest handlers (call_indirect)", n, `drain of JS handlers ${ns(g.drain.js)}`, vs(g.drain.guest, g.drain.js), "", "", "");
}
row("core bytes per pending registration: distinct / same function", SIZES.at(-1), "", `${memory.distinct.toFixed(1)} / ${memory.same.toFixed(1)} B`, "", "", "");
row("linear memory grown per registration", SIZES.at(-1), "", `${memory.committed.toFixed(1)} B`, "", "", "");
const startup = benchStartup();
row("import, whole process, over an empty ES package", "", "", `${startup.ours.toFixed(2)} ms`, `${startup.signalExit.toFixed(2)} ms`, "", "");
row("import, timed inside the process, over an empty ES package", "", "", `${startup.oursInside.toFixed(2)} ms`, `${startup.signalExitInside.toFixed(2)} ms`, "", "");
const wasmBytes = readFileSync(join(root, "build", "core.wasm")).length;
row("release core / npm tarball", "", "", `${wasmBytes} B / ${packed().size} B`, "", "", "");
console.log(table(["operation", "N", "baseline", "wasm-atexit", "signal-exit", "exit-hook", "CPython atexit (÷ its own baseline)"], rows));
