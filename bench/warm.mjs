// npm run bench:warm: the second table of the benchmark, warm loops in one
// process (npm run bench, bench/index.mjs, is the one SPEC's P rules are
// judged by): wasm-atexit against a bare JS array (the floor), signal-exit,
// exit-hook and CPython's atexit (when python3 is present). Every figure is a
// ratio to a baseline measured in the same process, interleaved round by
// round, so a busy machine moves both sides alike. Prints a Markdown table.
//
//   npm run bench:warm                      N = 10^4, 10^5, 10^6
//   BENCH_SIZES=10000,100000 npm run bench:warm
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import atexit from "wasm-atexit";
import { onExit as signalExitOnExit } from "signal-exit";
import exitHook from "exit-hook";
import wabtInit from "wabt";

const root = fileURLToPath(new URL("..", import.meta.url));
const SIZES = (process.env.BENCH_SIZES ?? "10000,100000,1000000").split(",").map(Number);
// Removing in random order from a plain array or CPython's list is
// quadratic; past this size those baselines would take minutes.
const QUADRATIC_LIMIT = 1e4;
const ROUNDS = 7;
const RECORD_BYTES = 20; // the core's record size (assembly/index.ts)

// The runtime's core, for the memory figures: read through `internals`
// each time, which links the registrations made since into the core.
const runtime = globalThis[Symbol.for("wasm-atexit.runtime")];

// ---- measuring -------------------------------------------------------------

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/**
 * Times each case once per round, cases interleaved, after one warm-up round;
 * returns the median nanoseconds per operation of each. A case is
 * { setup() -> state, body(state), teardown(state) }; only body is timed.
 */
function compare(ops, cases) {
  const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, { setup = () => undefined, body, teardown = () => {} }] of Object.entries(cases)) {
      const state = setup();
      const start = process.hrtime.bigint();
      body(state);
      const elapsed = Number(process.hrtime.bigint() - start);
      teardown(state);
      if (round > 0) times[name].push(elapsed / ops);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, t]) => [name, median(t)]));
}

function shuffled(n) {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const noop = () => {};
const closures = (n) => Array.from({ length: n }, () => () => {});
const removeAll = (removers) => removers.forEach((remove) => remove());
// signal-exit's remover is indexOf + splice, so removing N of its listeners
// one by one is quadratic; between rounds, its emitter is emptied instead.
const signalExitEmitter = globalThis[Symbol.for("signal-exit emitter")];
const resetSignalExit = () => {
  signalExitEmitter.listeners.exit.length = 0;
};

// ---- the cases ---------------------------------------------------------------

// Registering N times: the same closure (SPEC P1), and N distinct closures.
function benchRegister(n, fns) {
  const each = fns ? (visit) => fns.forEach(visit) : (visit) => { for (let i = 0; i < n; i++) visit(noop); };
  return compare(n, {
    array: { setup: () => [], body: (a) => each((fn) => a.push(fn)) },
    ours: { body: () => each((fn) => atexit.register(fn)), teardown: () => atexit.clear() },
    signalExit: { setup: () => [], body: (r) => each((fn) => r.push(signalExitOnExit(fn))), teardown: resetSignalExit },
    exitHook: { setup: () => [], body: (r) => each((fn) => r.push(exitHook(fn))), teardown: removeAll },
  });
}

// Running N pending handlers, newest first (SPEC P2).
function benchDrain(n) {
  let calls = 0;
  const counted = () => calls++;
  const result = compare(n, {
    array: {
      setup: () => new Array(n).fill(counted),
      body: (a) => {
        for (let i = a.length - 1; i >= 0; i--) a[i]();
      },
    },
    ours: {
      setup: () => {
        for (let i = 0; i < n; i++) atexit.register(counted);
      },
      body: () => atexit.runExitHandlers(),
    },
  });
  if (calls !== 2 * n * (ROUNDS + 1)) throw new Error(`the drain ran ${calls} handlers`);
  return result;
}

// signal-exit and exit-hook drain only when the process exits: a child
// registers N distinct closures (exit-hook keeps a Set, so the same closure
// would run once), times a reverse loop over an array of the same closures as
// its own baseline, then exits; the handler that runs last reports.
const REGISTER_IN_CHILD = {
  ours: 'const { register } = await import("wasm-atexit"); for (const h of handlers) register(h);',
  signalExit: 'const { onExit } = await import("signal-exit"); for (const h of handlers) onExit(h);',
  exitHook: 'const { default: exitHook } = await import("exit-hook"); for (const h of handlers) exitHook(h);',
};
function drainAtExit(library, n) {
  const source = `
    const n = ${n};
    let calls = 0, start = 0n, loop = Infinity, armed = false;
    const count = () => { if (++calls === n && armed) console.log(JSON.stringify({ drain: Number(process.hrtime.bigint() - start), loop })); };
    const handlers = Array.from({ length: n }, () => () => count());
    for (let round = 0; round < 5; round++) {
      const t = process.hrtime.bigint();
      for (let i = handlers.length - 1; i >= 0; i--) handlers[i]();
      loop = Math.min(loop, Number(process.hrtime.bigint() - t));
    }
    calls = 0;
    armed = true;
    ${REGISTER_IN_CHILD[library]}
    start = process.hrtime.bigint();
    process.exit(0);`;
  const runs = Array.from({ length: 3 }, () =>
    JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", source], { cwd: root, encoding: "utf8" })),
  );
  return { ratio: median(runs.map((r) => r.drain / r.loop)), ns: median(runs.map((r) => r.drain / n)) };
}

// Removing one of N pending registrations: 100 of them, spread over the
// stack, timed together.
const TARGETS = 100;
function benchUnregisterOne(n) {
  const fns = closures(n);
  const targets = Array.from({ length: TARGETS }, (_, i) => Math.floor(((i + 0.5) * n) / TARGETS));
  return compare(TARGETS, {
    array: {
      setup: () => [...fns],
      body: (a) => {
        for (const i of targets) a.splice(a.indexOf(fns[i]), 1);
      },
    },
    ours: {
      setup: () => fns.forEach((fn) => atexit.register(fn)),
      body: () => {
        for (const i of targets) atexit.unregister(fns[i]);
      },
      teardown: () => atexit.clear(),
    },
    signalExit: {
      setup: () => fns.map((fn) => signalExitOnExit(fn)),
      body: (r) => {
        for (const i of targets) r[i]();
      },
      teardown: resetSignalExit,
    },
    exitHook: {
      setup: () => fns.map((fn) => exitHook(fn)),
      body: (r) => {
        for (const i of targets) r[i]();
      },
      teardown: removeAll,
    },
  });
}

// Removing all N, one by one, in random order (SPEC P3). The baseline is a
// Set, O(1) per removal, over the same closures in the same order: removal
// costs rise with N through cache misses alone, and the ratio to the Set
// staying flat is what shows linear growth.
function benchUnregisterAll(n) {
  const fns = closures(n);
  const order = shuffled(n);
  const cases = {
    set: {
      setup: () => new Set(fns),
      body: (set) => {
        for (const i of order) set.delete(fns[i]);
      },
    },
    ours: {
      setup: () => fns.forEach((fn) => atexit.register(fn)),
      body: () => {
        for (const i of order) atexit.unregister(fns[i]);
      },
      teardown: () => {
        if (atexit.count() !== 0) throw new Error("unregister-all left handlers");
      },
    },
  };
  if (n <= QUADRATIC_LIMIT) {
    cases.array = {
      setup: () => [...fns],
      body: (a) => {
        for (const i of order) a.splice(a.indexOf(fns[i]), 1);
      },
    };
  }
  return compare(n, cases);
}

// Core memory per pending registration (SPEC P6): records in use, and what
// linear memory grew by. Run first, while the core's memory is still fresh.
function benchMemory(n) {
  const before = runtime.internals.memory.buffer.byteLength;
  const fns = closures(n);
  for (const fn of fns) atexit.register(fn);
  const distinct = (runtime.internals.recordsInUse() * RECORD_BYTES) / n;
  const committed = (runtime.internals.memory.buffer.byteLength - before) / n;
  atexit.clear();
  for (let i = 0; i < n; i++) atexit.register(noop);
  const same = (runtime.internals.recordsInUse() * RECORD_BYTES) / n;
  atexit.clear();
  return { distinct, same, committed };
}

// CPython's atexit, with list.append and a reversed loop as its own floors.
function benchPython(n) {
  const script = `
import atexit, json, random, time
n = ${n}
def timed(setup, body):
    out = []
    for _ in range(${ROUNDS + 1}):
        s = setup(); t = time.perf_counter_ns(); body(s); out.append(time.perf_counter_ns() - t)
        atexit._clear()
    return sorted(out[1:])[len(out[1:]) // 2]
def noop(): pass
fns = [(lambda: None) for _ in range(n)]
order = list(range(n)); random.shuffle(order)
def push(_):
    a = []
    for _ in range(n): a.append(noop)
def register(_):
    for _ in range(n): atexit.register(noop)
def loop(a):
    for f in reversed(a): f()
def fill_same():
    for _ in range(n): atexit.register(noop)
def fill_distinct():
    for f in fns: atexit.register(f)
def unregister_all(_):
    for i in order: atexit.unregister(fns[i])
res = {
  "array": timed(lambda: None, push) / n, "register": timed(lambda: None, register) / n,
  "loop": timed(lambda: [noop] * n, loop) / n, "drain": timed(fill_same, lambda _: atexit._run_exitfuncs()) / n,
  "unregisterOne": timed(fill_distinct, lambda _: [atexit.unregister(fns[(2 * i + 1) * n // 20]) for i in range(10)]) / 10,
}
if n <= ${QUADRATIC_LIMIT}: res["unregisterAll"] = timed(fill_distinct, unregister_all) / n
print(json.dumps(res))`;
  const python = spawnSync("python3", ["-c", script], { encoding: "utf8" });
  return python.error || python.status !== 0 ? undefined : JSON.parse(python.stdout);
}

// Start-up (SPEC P4): whole-process time of importing the package against an
// empty ES package, interleaved, medians; and, steadier, the import alone as
// timed inside each of those processes.
function benchStartup() {
  const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-bench-"));
  try {
    mkdirSync(join(dir, "empty"));
    writeFileSync(join(dir, "empty", "package.json"), '{"type":"module"}');
    writeFileSync(join(dir, "empty", "index.js"), "export {};\n");
    const targets = {
      empty: join(dir, "empty", "index.js"),
      ours: join(root, "build", "index.js"),
      signalExit: join(root, "node_modules", "signal-exit", "dist", "mjs", "index.js"),
    };
    const whole = { empty: [], ours: [], signalExit: [] };
    const inside = { empty: [], ours: [], signalExit: [] };
    for (let run = 0; run < 31; run++) {
      for (const [name, file] of Object.entries(targets)) {
        const start = process.hrtime.bigint();
        const out = execFileSync(process.execPath, [
          "--input-type=module",
          "-e",
          `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`,
        ]);
        whole[name].push(Number(process.hrtime.bigint() - start) / 1e6);
        inside[name].push(Number(out));
      }
    }
    const over = (times, name) => median(times[name]) - median(times.empty);
    return {
      ours: over(whole, "ours"),
      signalExit: over(whole, "signalExit"),
      oursInside: over(inside, "ours"),
      signalExitInside: over(inside, "signalExit"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function tarballBytes() {
  const [packed] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" }));
  return packed.size;
}

// Guests (SPEC G7): a WAT guest registers N handlers from its own loop, and
// the core calls them with call_indirect; against the same counts of JS
// registrations and JS handlers.
const BENCH_GUEST = `
  (module
    (import "atexit" "register" (func $register (param i32 i32) (result i32)))
    (table (export "table") 2 funcref)
    (elem (i32.const 1) $handler)
    (global $calls (mut i32) (i32.const 0))
    (func $handler (param i32) (global.set $calls (i32.add (global.get $calls) (i32.const 1))))
    (func (export "register_many") (param $n i32) (local $i i32)
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (drop (call $register (i32.const 1) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
    (func (export "calls") (result i32) (global.get $calls)))`;

async function benchGuests(n) {
  const wabt = await wabtInit();
  const bytes = wabt.parseWat("bench.wat", BENCH_GUEST).toBinary({}).buffer;
  const { instance } = await atexit.instantiate(bytes, {}, { name: "bench", quota: 2 ** 28 });
  const guest = instance.exports;
  let jsCalls = 0;
  const counted = () => jsCalls++;
  const register = compare(n, {
    js: {
      body: () => {
        for (let i = 0; i < n; i++) atexit.register(counted, i);
      },
      teardown: () => atexit.clear(),
    },
    guest: { body: () => guest.register_many(n), teardown: () => atexit.clear() },
  });
  const drain = compare(n, {
    js: {
      setup: () => {
        for (let i = 0; i < n; i++) atexit.register(counted);
      },
      body: () => atexit.runExitHandlers(),
    },
    guest: { setup: () => guest.register_many(n), body: () => atexit.runExitHandlers() },
  });
  if (guest.calls() !== n * (ROUNDS + 1) || jsCalls !== n * (ROUNDS + 1)) throw new Error("the guest drain lost handlers");
  return { register, drain };
}

// ---- the report --------------------------------------------------------------

const rows = [];
const row = (...cells) => rows.push(`| ${cells.join(" | ")} |`);
const ns = (x) => (x === undefined ? "" : x >= 100 ? `${Math.round(x)} ns` : `${x.toFixed(1)} ns`);
/** "3.10x (25.0 ns)": a case against its baseline, with its own time per operation. */
const vs = (x, base) => (x === undefined || base === undefined ? "" : `${(x / base).toFixed(2)}x (${ns(x)})`);

console.log(`wasm-atexit benchmark: node ${process.version}, N = ${SIZES.join(", ")}, median of ${ROUNDS} interleaved rounds.`);
console.log("Each cell: time ÷ the row's baseline, measured in the same run (time per operation in brackets).\n");
row("operation", "N", "baseline", "wasm-atexit", "signal-exit", "exit-hook", "CPython atexit (÷ its own baseline)");
row("---", "---:", "---:", "---:", "---:", "---:", "---:");

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
    const atExit = Object.fromEntries(Object.keys(REGISTER_IN_CHILD).map((lib) => [lib, drainAtExit(lib, n)]));
    const cell = ({ ratio, ns: each }) => `${ratio.toFixed(2)}x (${ns(each)})`;
    row("drain at process exit", n, "reverse loop, in the child", cell(atExit.ours), cell(atExit.signalExit), cell(atExit.exitHook), "");
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
const wasmBytes = statSync(join(root, "build", "core.wasm")).size;
const tarball = tarballBytes();
row("release core / npm tarball", "", "", `${wasmBytes} B / ${tarball} B`, "", "", "");
console.log(rows.join("\n"));
