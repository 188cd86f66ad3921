// Model-based test: random sequences of register / onExit / unregister /
// remover calls / clear / drains, where handlers themselves register, remove,
// clear, re-enter the drain or throw while the drain runs. The real package
// and a plain reference model (an array, newest last) run in lockstep: each
// time the package calls a handler, the model says which registration it
// must be; counts, thrown errors and failure reports are compared too.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import atexit from "wasm-atexit";
import { captureErrors, runtime } from "./helpers.mjs";

const FUNCTIONS = 4;
const RUNS = 20_000;

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

/** Plays one sequence on the package and on the model; throws on any difference. */
function play(steps) {
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
    if (expected.kind === "register") assert.equal(args, [expected.id], "arguments");
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
        atexit.register(fns[act.fn], newId);
        pending.push({ id: newId, fn: act.fn, kind: "register", action: act.action });
        break;
      }
      case "onExit": {
        const newId = nextId++;
        removers.push({ id: newId, remove: atexit.onExit(fns[act.fn]) });
        pending.push({ id: newId, fn: act.fn, kind: "onExit", action: act.action });
        break;
      }
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
    assert.is(atexit.count(), pending.length, "count");
  }

  function removeWhere(match) {
    for (let i = pending.length - 1; i >= 0; i--) if (match(pending[i])) pending.splice(i, 1);
  }

  // Runs the package's drain; returns what it threw.
  function drain() {
    const frame = { lastError: undefined };
    drains.push(frame);
    let thrown;
    try {
      atexit.runExitHandlers();
    } catch (err) {
      thrown = err;
    }
    drains.pop();
    assert.is(pending.length, 0, "the drain left registrations the model had pending");
    assert.is(thrown, frame.lastError, "runExitHandlers throws the last error");
    return thrown;
  }

  const [, reports] = captureErrors(() => {
    for (const s of steps) apply(s, 0);
    drain();
  });
  assert.is(reports.length, failures, "one report per failed handler");
  // Nothing leaks: the core frees every record (ghosts included) and the
  // bindings forget every function once nothing of it is pending.
  atexit.clear();
  assert.is(runtime().internals.recordsInUse(), recordsBefore, "records left in use");
  // The bindings' slot tables (private fields, read only here) hold nothing.
  const { handlerAt, argsAt, functionOfKey } = runtime();
  assert.ok(![...handlerAt, ...argsAt, ...functionOfKey].some((slot) => slot !== undefined), "values still held");
}

test("the package behaves as the reference model on random sequences", () => {
  atexit.clear();
  recordsBefore = runtime().internals.recordsInUse();
  let runs = 0;
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      runs++;
      atexit.clear();
      try {
        play(steps);
      } finally {
        atexit.clear();
      }
    }),
    { numRuns: RUNS, interruptAfterTimeLimit: 60_000 },
  );
  assert.ok(runs >= 1000, `only ${runs} sequences ran within the time limit`);
});

test.run();
