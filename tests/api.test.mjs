// The JavaScript API in-process (SPEC's API table, R1–R5, R9, bad input).
// Each test starts from an empty stack.
import { suite } from "./suite.mjs";
import * as assert from "uvu/assert";
import atexit, { clear, count, exitNow, onExit, register, runExitHandlers, unregister } from "wasm-atexit";
import * as named from "wasm-atexit";
import { failuresOf, runtime } from "./helpers.mjs";

const BAD_VALUES = [
  [undefined, "undefined"],
  [null, "null"],
  [42, "42 (a number)"],
  ["fn", '"fn" (a string)'],
  [{}, "an object"],
  [[], "an array"],
  [Symbol("s"), "Symbol(s) (a symbol)"],
];

/** Asserts that `body` throws a TypeError whose message is exactly `message`. */
function throwsTypeError(body, message) {
  assert.throws(body, (err) => err instanceof TypeError && err.message === message);
}

function fresh(name) {
  const s = suite(name);
  s.before.each(() => clear());
  s.after(() => clear());
  return s;
}

const Register = fresh("register");

Register("returns fn itself, so it can wrap a declaration", () => {
  const fn = () => {};
  assert.is(register(fn), fn);
  assert.is(count(), 1);
});

Register("passes each registration its own arguments, objects by reference", () => {
  const seen = [];
  const options = { name: "Donny" };
  const record = (...args) => seen.push(args);
  register(record, 1, "two", options);
  register(record);
  register(record, options);
  runExitHandlers();
  assert.equal(seen, [[options], [], [1, "two", options]]);
  assert.ok(seen[0][0] === options, "the same object, not a copy");
});

Register("R3: the same function registered twice runs twice", () => {
  let runs = 0;
  const fn = () => runs++;
  register(fn);
  register(fn);
  runExitHandlers();
  assert.is(runs, 2);
});

Register("bad fn: TypeError naming the parameter and the value; nothing registered", () => {
  for (const [value, described] of BAD_VALUES) {
    throwsTypeError(() => register(value), `wasm-atexit: register: fn must be a function, got ${described}`);
  }
  assert.is(count(), 0);
});

Register("out of memory: a RangeError, nothing lost, every pending handler still runs", () => {
  const core = runtime().internals;
  const ran = [];
  try {
    core.limitPages(core.memory.buffer.byteLength / 65536);
    let registered = 0;
    assert.throws(() => {
      for (;;) {
        register((n) => ran.push(n), registered);
        registered++;
      }
    }, /the core is out of memory with \d+ handlers pending; nothing was registered/);
    assert.is(count(), registered);
    core.limitPages(65536);
    register(() => ran.push("after"));
    runExitHandlers();
    assert.is(ran.length, registered + 1);
    assert.is(ran[0], "after");
    assert.is(ran.at(-1), 0);
  } finally {
    core.limitPages(65536);
  }
});

Register.run();

const Unregister = fresh("unregister");

Unregister("R5: removes every registration of the function, and only those", () => {
  const log = [];
  const a = () => log.push("a");
  const b = () => log.push("b");
  register(a);
  register(b);
  register(a);
  onExit(a);
  unregister(a);
  assert.is(count(), 1);
  runExitHandlers();
  assert.equal(log, ["b"]);
});

Unregister("no-op for a function never registered or already removed", () => {
  const fn = () => {};
  unregister(fn);
  register(fn);
  unregister(fn);
  unregister(fn);
  assert.is(count(), 0);
});

Unregister("a function registered again after removal runs again", () => {
  let runs = 0;
  const fn = () => runs++;
  register(fn);
  unregister(fn);
  register(fn);
  runExitHandlers();
  assert.is(runs, 1);
});

Unregister("bad fn: TypeError; nothing removed", () => {
  register(() => {});
  for (const [value, described] of BAD_VALUES) {
    throwsTypeError(() => unregister(value), `wasm-atexit: unregister: fn must be a function, got ${described}`);
  }
  assert.is(count(), 1);
});

Unregister.run();

const OnExit = fresh("onExit");

OnExit("the callback receives the exit code and a null signal", () => {
  const seen = [];
  onExit((code, signal) => seen.push([code, signal]));
  runExitHandlers();
  assert.equal(seen, [[0, null]]);
});

OnExit("the remover removes that registration only, and is idempotent", () => {
  const log = [];
  const cb = () => log.push("cb");
  const first = onExit(cb);
  onExit(cb);
  first();
  first();
  assert.is(count(), 1);
  runExitHandlers();
  assert.equal(log, ["cb"]);
});

OnExit("a stale remover does not remove a later registration that reuses its record", () => {
  const remove = onExit(() => {});
  runExitHandlers();
  let ran = false;
  onExit(() => (ran = true));
  remove();
  assert.is(count(), 1);
  runExitHandlers();
  assert.ok(ran);
});

OnExit("the remover is Disposable (what `using` calls at the end of a block)", () => {
  const registration = onExit(() => assert.unreachable("disposed"));
  assert.is(count(), 1);
  registration[Symbol.dispose]();
  assert.is(count(), 0);
});

OnExit("bad cb: TypeError naming the parameter", () => {
  throwsTypeError(() => onExit("x"), 'wasm-atexit: onExit: cb must be a function, got "x" (a string)');
  assert.is(count(), 0);
});

OnExit.run();

const Run = fresh("runExitHandlers");

Run("R1: newest first, across register and onExit", () => {
  const log = [];
  register(() => log.push(1));
  onExit(() => log.push(2));
  register(() => log.push(3));
  runExitHandlers();
  assert.equal(log, [3, 2, 1]);
  assert.is(count(), 0);
});

Run("R9: every handler runs, each failure is reported, then the last error is thrown", () => {
  const log = [];
  let last;
  register(() => log.push("oldest"));
  register(function failsLast() {
    throw (last = new Error("last"));
  });
  register(() => log.push("middle"));
  register(function failsFirst() {
    throw new Error("first");
  });
  const [thrown, reports] = failuresOf(runExitHandlers);
  assert.is(thrown, last);
  assert.equal(log, ["middle", "oldest"]);
  assert.is(reports.length, 2);
  assert.match(reports[0], /^wasm-atexit: exit handler "failsFirst" failed:\nError: first\n    at failsFirst/);
  assert.match(reports[1], /^wasm-atexit: exit handler "failsLast" failed:\nError: last/);
});

Run("R9: a revoked Proxy as handler, and thrown values whose getters throw, are reported; every handler runs", () => {
  const log = [];
  const { proxy, revoke } = Proxy.revocable(function () {}, {});
  revoke();
  const hostile = {};
  for (const key of ["name", "stack", "message", "constructor", "toString"]) {
    Object.defineProperty(hostile, key, { get: () => { throw new Error(key); } });
  }
  register(() => log.push("oldest"));
  register(proxy);
  register(() => { throw proxy; });
  register(() => { throw hostile; });
  register(() => ({ get then() { throw new Error("then getter"); } }));
  register(() => log.push("newest"));
  const [thrown, reports] = failuresOf(runExitHandlers);
  assert.equal(log, ["newest", "oldest"]);
  assert.is(reports.length, 4);
  assert.match(reports[0], /Error: then getter/);
  assert.match(reports[1], /thrown value: a value that cannot be inspected/);
  assert.match(reports[2], /thrown value: a value that cannot be inspected/);
  assert.match(reports[3], /^wasm-atexit: exit handler <anonymous> failed:\nTypeError: Cannot perform 'apply' on a proxy that has been revoked/);
  assert.ok(thrown instanceof TypeError, "the last error: the revoked Proxy's call");
});

Run("with nothing pending, does nothing", () => {
  runExitHandlers();
  assert.is(count(), 0);
});

Run.run();

const Misc = fresh("clear, count, exitNow, default export");

Misc("clear drops everything without running it", () => {
  register(() => assert.unreachable("cleared"));
  onExit(() => assert.unreachable("cleared"));
  assert.is(count(), 2);
  clear();
  assert.is(count(), 0);
  runExitHandlers();
});

Misc("count does not count removed registrations", () => {
  const fn = () => {};
  register(fn);
  const remove = onExit(() => {});
  register(() => {});
  assert.is(count(), 3);
  remove();
  unregister(fn);
  assert.is(count(), 1);
});

Misc("exitNow rejects a code that is not an integer, naming it", () => {
  throwsTypeError(() => exitNow(1.5), "wasm-atexit: exitNow: code must be an integer, got 1.5 (a number)");
  throwsTypeError(() => exitNow("3"), 'wasm-atexit: exitNow: code must be an integer, got "3" (a string)');
});

Misc("shutdown and handleSignals check their input, naming it", async () => {
  let rejected;
  await atexit.shutdown("3").catch((err) => (rejected = err));
  assert.ok(rejected instanceof TypeError && rejected.message === 'wasm-atexit: shutdown: code must be an integer, got "3" (a string)', String(rejected));
  assert.throws(
    () => atexit.handleSignals({ timeout: -1 }),
    (err) => err instanceof RangeError && err.message === "wasm-atexit: handleSignals: timeout must be from 0 to 2147483647, got -1",
  );
  assert.throws(
    () => atexit.handleSignals({ timeout: "1s" }),
    (err) => err instanceof TypeError && err.message === 'wasm-atexit: handleSignals: timeout must be an integer, got "1s" (a string)',
  );
});

Misc("the default export holds the same functions", () => {
  assert.equal(Object.keys(atexit).sort(), [
    "clear",
    "configureReports",
    "count",
    "createGuest",
    "dispose",
    "exitNow",
    "handleSignals",
    "instantiate",
    "onExit",
    "register",
    "runExitHandlers",
    "runWasi",
    "shutdown",
    "unregister",
  ]);
  for (const [name, fn] of Object.entries(atexit)) assert.is(fn, named[name], name);
});

Misc.run();
