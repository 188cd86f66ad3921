// The cases of CPython's Lib/test/_test_atexit.py that make sense for this
// API, written anew: each name says which one it follows.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import atexit from "wasm-atexit";
import { failuresOf, lines, runFixture } from "./helpers.mjs";

test.before.each(() => atexit.clear());
test.after(() => atexit.clear());

/** Runs the handlers as `_run_exitfuncs` does; returns [thrown error or undefined, stderr reports]. */
const runExitFuncs = () => failuresOf(atexit.runExitHandlers);

test("test_general: order with positional and keyword arguments", () => {
  const out = [];
  const h1 = () => out.push("h1");
  const h4 = (...args) => out.push(`h4 ${JSON.stringify(args)}`);
  atexit.register(h1);
  atexit.register(h4);
  atexit.register(h4, 4, { kw: "abc" });
  runExitFuncs();
  assert.equal(out, ['h4 [4,{"kw":"abc"}]', "h4 []", "h1"]);
});

test("test_badargs: a callable is required, and nothing is registered", () => {
  for (const bad of [0, "func", null, { call() {} }]) {
    assert.throws(() => atexit.register(bad), (err) => err instanceof TypeError && /fn must be a function/.test(err.message));
  }
  assert.is(atexit.count(), 0);
});

test("test_raise: every handler runs, the last error raised is re-raised", () => {
  atexit.register(() => {
    throw new TypeError("raise1");
  });
  atexit.register(() => {
    throw new RangeError("raise2");
  });
  const [thrown, reports] = runExitFuncs();
  assert.instance(thrown, TypeError, "raise1 runs last, so its error is the last");
  assert.is(reports.length, 2);
});

test("test_raise_unnormalized: a runtime error inside a handler", () => {
  atexit.register(function divide() {
    return null.zero;
  });
  const [thrown, reports] = runExitFuncs();
  assert.instance(thrown, TypeError);
  assert.match(reports[0], 'exit handler "divide" failed:\nTypeError');
});

test("test_print_tracebacks: each failing handler's stack is printed", () => {
  atexit.register(function first() {
    throw new Error("first");
  });
  atexit.register(function second() {
    throw new Error("second");
  });
  const [, reports] = runExitFuncs();
  assert.equal(
    reports.map((r) => lines(r).slice(0, 3).join("|").replace(/ \(.*\)$/, "")),
    [
      'wasm-atexit: exit handler "second" failed:|Error: second|    at second',
      'wasm-atexit: exit handler "first" failed:|Error: first|    at first',
    ],
  );
});

test("test_exit: exiting from a handler is not an error", () => {
  const r = runFixture("scenarios.mjs", ["exit-in-handler"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 7);
});

test("test_stress: 128 registrations all run once", () => {
  const a = [0];
  const inc = () => a[0]++;
  for (let i = 0; i < 128; i++) atexit.register(inc);
  runExitFuncs();
  assert.is(a[0], 128);
});

test("test_clear", () => {
  const a = [0];
  atexit.register(() => a[0]++);
  atexit.clear();
  runExitFuncs();
  assert.is(a[0], 0);
});

test("test_unregister", () => {
  const a = [0];
  const inc = () => a[0]++;
  const dec = () => a[0]--;
  for (let i = 0; i < 4; i++) atexit.register(inc);
  atexit.register(dec);
  atexit.unregister(inc);
  runExitFuncs();
  assert.is(a[0], -1);
});

test("test_bound_methods: a bound function is one function object", () => {
  const l = [];
  const append = l.push.bind(l);
  atexit.register(append, 5);
  runExitFuncs();
  assert.equal(l, [5]);
  atexit.register(append, 6);
  atexit.unregister(append);
  runExitFuncs();
  assert.equal(l, [5]);
});

test("test_atexit_with_unregistered_function: a handler that unregisters itself and fails", () => {
  function func() {
    atexit.unregister(func);
    return 1 / 0n;
  }
  atexit.register(func);
  const [thrown, reports] = runExitFuncs();
  assert.instance(thrown, TypeError);
  assert.is(reports.length, 1);
  assert.is(atexit.count(), 0);
});

test("test_shutdown: handlers run at interpreter shutdown", () => {
  const r = runFixture("scenarios.mjs", ["natural"]);
  assert.equal(lines(r.stdout), ["last registered", "first registered"]);
});

test.run();
