// Model-based test: random sequences of register / onExit / unregister /
// remover calls / clear / drains, where handlers themselves register, remove,
// clear, re-enter the drain or throw while the drain runs. The real package
// and a plain reference model (an array, newest last) run in lockstep: each
// time the package calls a handler, the model says which registration it
// must be; counts, thrown errors and failure reports are compared too.
//
// The bindings register from a range of handles reserved in the core and
// drains take handlers from the core in batches (bindings/stack.ts,
// bindings/batch.ts). Half the sequences run with a range of 3 and batches
// of at most 2, and "bulk" steps register dozens at once, so that
// registrations and removals inside handlers fall on every side of those
// boundaries; half check count() only between top-level steps, as count()
// settles a batch.
//
// Half start from a stack the core has not seen (runtime().forgetCore()),
// where a drain of JS handlers takes them without the core
// (bindings/coreless.ts) until a handler needs it — count(), unregister(),
// a remover, clear(), or a registration above the batch — and the stack
// hands what is pending to the core mid-drain. A process where a guest was
// ever created cannot forget its core: there (`npm test`, which runs every
// file in one process) those sequences keep theirs, and the test below runs
// them in a fresh process.
import { test } from "./suite.mjs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import fc from "fast-check";
import atexit from "wasm-atexit";
import { captureErrors, runtime } from "./helpers.mjs";

// Functions 0-3 are registered with their registration's id as argument;
// 4-7 with none, as most handlers are (the drain's fast path).
const FUNCTIONS = 8;
const WITH_ARGUMENT = 4;
const RUNS = Number(process.env.WASM_ATEXIT_MODEL_RUNS ?? 20_000);
// Set in the fresh process the last test starts.
const FRESH = process.env.WASM_ATEXIT_MODEL_FRESH === "1";

// What a registration does when it runs. Handlers registered during a drain
// get only the plain actions, so every drain ends.
const plainAction = fc.constantFrom({ type: "none" }, { type: "throw" });
const action = fc.oneof(
  { weight: 4, arbitrary: plainAction },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("register"), fn: fc.nat(FUNCTIONS - 1), action: plainAction }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("onExit"), fn: fc.nat(FUNCTIONS - 1), action: plainAction }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("unregister"), fn: fc.nat(FUNCTIONS - 1) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("remove"), remover: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("drain") }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("clear") }) },
);
// Top-level steps: the same verbs, with any action attached.
const step = fc.oneof(
  { weight: 1, arbitrary: fc.record({ type: fc.constant("bulk"), fn: fc.nat(FUNCTIONS - 1), times: fc.integer({ min: 1, max: 40 }), action }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant("register"), fn: fc.nat(FUNCTIONS - 1), action }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("onExit"), fn: fc.nat(FUNCTIONS - 1), action }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("unregister"), fn: fc.nat(FUNCTIONS - 1) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("remove"), remover: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("drain") }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("clear") }) },
);

// Records in use before any sequence: guests created by other test files in
// this process keep their owner records.
let recordsBefore;
// Of the sequences that started without the core: how many top-level drains
// ended without it, and how many handed the stack to it mid-drain.
const coreless = { sequences: 0, drains: 0, handOvers: 0 };

/** Plays one sequence on the package and on the model; throws on any difference. */
function play(steps, countInHandlers) {
  const pending = []; // the model: { id, fn, kind, action }, newest last
  const removers = []; // { id, remove }
  const drains = []; // the model's drains in progress: { lastError }
  let nextId = 1;
  let failures = 0;

  const fns = Array.from({ length: FUNCTIONS }, (_, fn) => (...args) => called(fn, args));

  function called(fn, args) {
    const expected = pending.pop();
    assert.ok(expected, `the package called function ${fn} when the model has nothing pending`);
    assert.is(fn, expected.fn, `function of registration ${expected.id}`);
    if (expected.kind === "register") assert.equal(args, expected.fn < WITH_ARGUMENT ? [expected.id] : [], "arguments");
    else assert.equal(args, [0, null, undefined], "onExit arguments: code, signal, reason");
    apply(expected.action, expected.id);
  }

  function apply(act, id) {
    switch (act.type) {
      case "none":
        return;
      case "throw": {
        const err = new Error(`handler ${id}`);
        drains.at(-1).lastError = err;
        failures++;
        throw err;
      }
      case "register": {
        const newId = nextId++;
        if (act.fn < WITH_ARGUMENT) atexit.register(fns[act.fn], newId);
        else atexit.register(fns[act.fn]);
        pending.push({ id: newId, fn: act.fn, kind: "register", action: act.action });
        break;
      }
      case "onExit": {
        const newId = nextId++;
        removers.push({ id: newId, remove: atexit.onExit(fns[act.fn]) });
        pending.push({ id: newId, fn: act.fn, kind: "onExit", action: act.action });
        break;
      }
      case "bulk":
        for (let i = 0; i < act.times; i++) apply({ type: "register", fn: act.fn, action: act.action }, id);
        break;
      case "unregister":
        atexit.unregister(fns[act.fn]);
        removeWhere((entry) => entry.fn === act.fn);
        break;
      case "remove": {
        if (removers.length === 0) break;
        const { id: target, remove } = removers[act.remover % removers.length];
        remove();
        removeWhere((entry) => entry.id === target);
        break;
      }
      case "clear":
        atexit.clear();
        pending.length = 0;
        break;
      case "drain": {
        const error = drain();
        if (error !== undefined && drains.length > 0) {
          // A handler that re-entered the drain fails with what it threw.
          drains.at(-1).lastError = error;
          failures++;
          throw error;
        }
        break;
      }
    }
    if (countInHandlers || drains.length === 0) assert.is(atexit.count(), pending.length, "count");
  }

  function removeWhere(match) {
    for (let i = pending.length - 1; i >= 0; i--) if (match(pending[i])) pending.splice(i, 1);
  }

  // Runs the package's drain; returns what it threw.
  function drain() {
    const frame = { lastError: undefined };
    drains.push(frame);
    const withoutCore = drains.length === 1 && runtime().loaded === undefined;
    let thrown;
    try {
      atexit.runExitHandlers();
    } catch (err) {
      thrown = err;
    }
    drains.pop();
    if (withoutCore) {
      if (runtime().loaded === undefined) coreless.drains++;
      else coreless.handOvers++;
    }
    assert.is(pending.length, 0, "the drain left registrations the model had pending");
    assert.is(thrown, frame.lastError, "runExitHandlers throws the last error");
    return thrown;
  }

  const [, reports] = captureErrors(() => {
    for (const s of steps) apply(s, 0);
    drain();
  });
  assert.is(reports.length, failures, "one report per failed handler");
  assert.is(atexit.count(), pending.length, "count after the sequence");
  // Nothing leaks: once the last drain has run everything, the core has
  // freed every record and the bindings have forgotten every registration
  // and function.
  assert.is(runtime().internals.recordsInUse(), recordsBefore, "records left in use");
  // The bindings' tables (private fields, read only here) hold nothing.
  const { entries, index } = runtime();
  assert.ok(!entries.some((entry) => entry !== undefined), "registrations still held");
  assert.ok(index === undefined || index.size === 0, "functions still indexed");
}

test("the package behaves as the reference model on random sequences", () => {
  atexit.clear();
  recordsBefore = runtime().internals.recordsInUse();
  let runs = 0;
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), fc.boolean(), fc.boolean(), fc.boolean(), (steps, small, countInHandlers, withoutCore) => {
      runs++;
      atexit.clear();
      runtime().resize(small ? 3 : 1024, small ? 2 : 1024);
      if (withoutCore && runtime().forgetCore()) coreless.sequences++;
      try {
        play(steps, countInHandlers);
      } finally {
        atexit.clear();
        runtime().resize(1024, 1024);
      }
    }),
    // No time limit: the README states how many sequences run (a few seconds here).
    { numRuns: RUNS, includeErrorInReport: true },
  );
  assert.is(runs, RUNS, "every sequence asked for ran");
  console.log(`  (the model test ran ${runs} random sequences)`);
  if (coreless.sequences > 0) {
    // Both ways out of a drain without the core were taken.
    assert.ok(coreless.drains > 0 && coreless.handOvers > 0, JSON.stringify(coreless));
    console.log(`  (${coreless.sequences} started without the core: ${coreless.drains} drains ended without it, ${coreless.handOvers} handed over to it mid-drain)`);
  }
});

if (!FRESH) {
  test("the same, from a stack the core has not seen, in a fresh process", () => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
      encoding: "utf8",
      env: { ...process.env, WASM_ATEXIT_MODEL_FRESH: "1", WASM_ATEXIT_MODEL_RUNS: "4000" },
    });
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\(\d+ started without the core: [1-9]\d* drains ended without it, [1-9]\d* handed over to it mid-drain\)/);
  });
}

test.run();
