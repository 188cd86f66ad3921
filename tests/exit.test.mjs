// Real exits (SPEC R1, R6–R12): each scenario of fixtures/scenarios.mjs runs in
// a child process; we check its stdout, stderr and exit code.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { lines, runFixture, startFixture } from "./helpers.mjs";

const scenario = (name) => runFixture("scenarios.mjs", [name]);

test("natural end: handlers run newest first, exit code 0", () => {
  const r = scenario("natural");
  assert.equal(lines(r.stdout), ["last registered", "first registered"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 0);
});

test("process.exit(3): handlers run, code kept", () => {
  const r = scenario("process-exit");
  assert.equal(lines(r.stdout), ["handler"]);
  assert.is(r.code, 3);
});

test("uncaught exception: handlers run, exit code 1", () => {
  const r = scenario("uncaught");
  assert.equal(lines(r.stdout), ["handler"]);
  assert.match(r.stderr, "uncaught in main");
  assert.is(r.code, 1);
});

test("unhandled rejection: handlers run, exit code 1", () => {
  const r = scenario("rejection");
  assert.equal(lines(r.stdout), ["handler"]);
  assert.match(r.stderr, "rejected in main");
  assert.is(r.code, 1);
});

test("R9: a throwing handler is reported by name with its stack, the rest run, 0 becomes 1", () => {
  const r = scenario("throwing");
  assert.equal(lines(r.stdout), ["newest", "oldest"]);
  assert.match(r.stderr, 'wasm-atexit: exit handler "flushCache" failed:\nError: disk full\n    at flushCache');
  assert.is(r.code, 1);
});

test("R9: a failure keeps a non-zero exit code as it is", () => {
  const r = scenario("throwing-exit5");
  assert.match(r.stderr, "exit handler <anonymous> failed:\nTypeError: bad");
  assert.is(r.code, 5);
});

test("R9: a thrown non-Error is reported too", () => {
  const r = scenario("throw-non-error");
  assert.match(r.stderr, 'exit handler "rude" failed:\nthrown value: 42 (a number)');
  assert.is(r.code, 1);
});

test("R10: process.exit(7) in a handler ends that handler only; the process ends with 7", () => {
  const r = scenario("exit-in-handler");
  assert.equal(lines(r.stdout), ["newest", "asks for 7", "oldest"]);
  assert.is(r.stderr, "", "an exit request is not an error");
  assert.is(r.code, 7);
});

test("R10: the last code asked for wins", () => {
  const r = scenario("exit-twice-in-handlers");
  assert.is(r.code, 9);
});

test("a handler may set process.exitCode", () => {
  assert.is(scenario("exit-code-set-by-handler").code, 6);
});

test("onExit receives the current code and a null signal", () => {
  const r = scenario("on-exit-code");
  assert.equal(lines(r.stdout), ["onExit 4 null"]);
  assert.is(r.code, 4);
});

test("R6: a handler registered during the drain runs in it, before older ones", () => {
  const r = scenario("register-during-drain");
  assert.equal(lines(r.stdout), ["registering", "registered during drain", "oldest"]);
  assert.is(r.code, 0);
});

test("natural end: every kind of handler runs once, newest first, whichever path calls it", () => {
  const r = scenario("kinds-of-handler");
  assert.equal(lines(r.stdout), [
    "newest",
    "ordinary, bound",
    "async",
    "async, bound",
    "with a throwing constructor getter",
    "with a constructor of its own",
    "through a Proxy",
    "from another realm",
    "with arguments",
    "oldest",
  ]);
  assert.match(r.stderr, /exit handler "Handler" failed:\nTypeError: Class constructor Handler cannot be invoked without 'new'/);
  assert.is(r.code, 1);
});

test("R7: handlers removed during the drain do not run", () => {
  const r = scenario("unregister-during-drain");
  assert.equal(lines(r.stdout), ["removed two", "survivor"]);
  assert.is(r.code, 0);
});

test("R8: re-entering the drain runs each handler once", () => {
  const r = scenario("reentry");
  assert.equal(lines(r.stdout), ["re-entering", "middle", "oldest", "back"]);
  assert.is(r.code, 0);
});

test("R11: exitNow ends at once, running no handler", () => {
  const r = scenario("exit-now");
  assert.is(r.stdout, "");
  assert.is(r.code, 11);
});

test("runExitHandlers drains early; nothing is left for exit", () => {
  const r = scenario("run-early");
  assert.equal(lines(r.stdout), ["ran early", "pending 0"]);
  assert.is(r.code, 0);
});

test("R11: SIGKILL runs no handler", async () => {
  const { child, ready, ended } = startFixture("scenarios.mjs", ["wait-for-kill"]);
  await ready;
  child.kill("SIGKILL");
  const r = await ended;
  assert.equal(lines(r.stdout), ["ready"]);
  assert.is(r.signal, "SIGKILL");
});

test.run();
