// The cases of bench/warm.mjs, each a function of N returning nanoseconds
// per operation, against a baseline timed in the same rounds (compare.mjs).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import atexit from "wasm-atexit";
import { onExit as signalExitOnExit } from "signal-exit";
import exitHook from "exit-hook";
import wabtInit from "wabt";
import { interleave, median, node, root, run } from "../lib.mjs";
import { compare, ROUNDS, shuffled } from "./compare.mjs";

// Removing in random order from a plain array or CPython's list is
// quadratic; past this size those baselines would take minutes.
const QUADRATIC_LIMIT = 1e4;
const RECORD_BYTES = 20; // the core's record size (assembly/index.ts)

// The runtime's core, for the memory figures: read through `internals`
// each time, which links the registrations made since into the core.
const runtime = globalThis[Symbol.for("wasm-atexit.runtime")];

const noop = () => {};
export const closures = (n) => Array.from({ length: n }, () => () => {});
const removeAll = (removers) => removers.forEach((remove) => remove());
// signal-exit's remover is indexOf + splice, so removing N of its listeners
// one by one is quadratic; between rounds, its emitter is emptied instead.
const signalExitEmitter = globalThis[Symbol.for("signal-exit emitter")];
const resetSignalExit = () => {
  signalExitEmitter.listeners.exit.length = 0;
};

// ---- the cases ---------------------------------------------------------------

// Registering N times: the same closure (SPEC P1), and N distinct closures.
export function benchRegister(n, fns) {
  const each = fns ? (visit) => fns.forEach(visit) : (visit) => { for (let i = 0; i < n; i++) visit(noop); };
  return compare(n, {
    array: { setup: () => [], body: (a) => each((fn) => a.push(fn)) },
    ours: { body: () => each((fn) => atexit.register(fn)), teardown: () => atexit.clear() },
    signalExit: { setup: () => [], body: (r) => each((fn) => r.push(signalExitOnExit(fn))), teardown: resetSignalExit },
    exitHook: { setup: () => [], body: (r) => each((fn) => r.push(exitHook(fn))), teardown: removeAll },
  });
}

// Running N pending handlers, newest first (SPEC P2).
export function benchDrain(n) {
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

// signal-exit and exit-hook drain only when the process exits: in a fresh
// process (bench/warm/drain-at-exit.mjs), against a reverse loop there.
export const AT_EXIT = ["wasm-atexit", "signal-exit", "exit-hook"];
export function drainAtExit(library, n) {
  const runs = Array.from({ length: 3 }, () => node([join(root, "bench", "warm", "drain-at-exit.mjs"), library, String(n)]));
  return { ratio: median(runs.map((r) => r.drain / r.loop)), ns: median(runs.map((r) => r.drain / n)) };
}

// Removing one of N pending registrations: 100 of them, spread over the
// stack, timed together.
const TARGETS = 100;
export function benchUnregisterOne(n) {
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
export function benchUnregisterAll(n) {
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
export function benchMemory(n) {
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

// CPython's atexit (bench/python/warm.py), or undefined without python3.
export function benchPython(n) {
  try {
    return JSON.parse(run("python3", [join(root, "bench", "python", "warm.py"), String(n), String(ROUNDS), String(QUADRATIC_LIMIT)]).stdout);
  } catch {
    return undefined;
  }
}

// Start-up (SPEC P4): whole-process time of importing the package against an
// empty ES package, interleaved, medians; and, steadier, the import alone as
// timed inside each of those processes.
export function benchStartup() {
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
    const importIt = (file) => () =>
      run(process.execPath, ["--input-type=module", "-e", `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`]);
    const samples = interleave(31, Object.fromEntries(Object.entries(targets).map(([name, file]) => [name, importIt(file)])));
    const whole = (sample) => sample.ms;
    const inside = (sample) => Number(sample.stdout);
    const over = (figure, name) => median(samples[name].map(figure)) - median(samples.empty.map(figure));
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

// Guests (SPEC G7): bench/warm/guest.wat registers N handlers from its own
// loop, and the core calls them with call_indirect; against the same counts
// of JS registrations and JS handlers.
export async function benchGuests(n) {
  const wabt = await wabtInit();
  const wat = readFileSync(join(root, "bench", "warm", "guest.wat"), "utf8");
  const bytes = wabt.parseWat("guest.wat", wat).toBinary({}).buffer;
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
