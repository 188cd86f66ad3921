// Python's atexit in Pyodide on the shared stack (SPEC G10), through
// tests/fixtures/python.mjs. Pyodide takes seconds to load, so the child
// processes are started together, two at a time, before the assertions.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lines, signalFixture, spawnFixture, twoAtATime } from "./helpers.mjs";

const python = (scenario, ...args) => spawnFixture("python.mjs", [scenario, ...args]).ended;

const counterFolder = mkdtempSync(join(tmpdir(), "wasm-atexit-python-"));
// The two runs of the counter fall in different pairs, so one ends before the other starts.
const scenarios = ["seed", "raise", "seed", "unregister", "sys-exit", "dispose", "process-exit", "uncaught", "js-exit-from-python"];
const runs = await twoAtATime(scenarios.map((name) => () => (name === "seed" ? python(name, counterFolder) : python(name))));
const [first, second] = runs.filter((_, i) => scenarios[i] === "seed");
const results = Object.fromEntries(runs.map((result, i) => [scenarios[i], result]));
rmSync(counterFolder, { recursive: true, force: true });

// JS's oldest, the link, Python's before-link handler is at the link's place.
const AROUND = ["js: after the link", "python: registered before the link", "js: oldest"];

test("the seed's examples as Python: LIFO among JS, C and Python; the counter counts 1, then 2", () => {
  const seed = (count) => [
    `Python counter is ${count}`,
    "js: newest",
    "You are now leaving the Python sector.",
    "Goodbye, Donny, it was nice to meet you. (from Python)",
    "Goodbye, Donny, it was nice to meet you. (from Python)",
    `Python saved its counter, ${count}`,
    "c: 1",
    ...AROUND,
  ];
  assert.equal(lines(first.stdout), seed(1));
  assert.is(first.stderr, "");
  assert.is(first.code, 0);
  assert.equal(lines(second.stdout), seed(2));
  assert.is(second.code, 0);
});

test("a raising handler is reported as CPython does, the rest run, the code is 1; a partial line is flushed", () => {
  const r = results.raise;
  assert.equal(lines(r.stdout), ["python: before the raise", "python: after the raise", "python: no newlinejs: after the link", "js: oldest"]);
  assert.match(r.stderr, /Exception ignored in atexit callback <function broken at 0x[0-9a-f]+>:\nTraceback \(most recent call last\):\n {2}File "<exec>", line \d+, in broken\nValueError: the disk is gone/);
  assert.match(r.stderr, 'wasm-atexit: exit handler function 1 of guest "python" failed:');
  assert.is(r.code, 1);
});

test("unregister removes every registration of the function; _ncallbacks, _clear and _run_exitfuncs keep CPython's meaning", () => {
  const r = results.unregister;
  assert.equal(lines(r.stdout), [
    "python: _ncallbacks 4",
    "python: _ncallbacks 2",
    "python: _ncallbacks 1",
    "python: run now, two",
    "python: kept",
    "python: _ncallbacks 0",
    "js: after the link",
    "js: oldest",
  ]);
  assert.is(r.stderr, "");
  assert.is(r.code, 0);
});

test("sys.exit(5) in a Python handler is an exit request: the rest run, the code is 5", () => {
  const r = results["sys-exit"];
  assert.equal(lines(r.stdout), ["python: before the exit request", "python: after the exit request", "js: after the link", "js: oldest"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 5);
});

test("dispose(guest) runs Python's handlers now; a later registration is refused with a clear error", () => {
  const r = results.dispose;
  assert.equal(lines(r.stdout), [
    "python: disposed",
    "js: disposed",
    'js: register after dispose: pyodide.ffi.JsException: RangeError: wasm-atexit: atexit.register: guest "python" was disposed of',
    'js: linked again: wasm-atexit: linkPyodide: this Pyodide is already linked, as guest "python"',
    "js: after the link",
    "js: oldest",
  ]);
  assert.is(r.code, 0);
});

test("R12: Python's handlers run at process.exit(), at an uncaught error and at js.process.exit() called from Python", () => {
  assert.equal(lines(results["process-exit"].stdout), ["python: at process.exit", "js: after the link", "js: oldest"]);
  assert.is(results["process-exit"].code, 4);
  assert.equal(lines(results.uncaught.stdout), ["python: at an uncaught error", "js: after the link", "js: oldest"]);
  assert.match(results.uncaught.stderr, "Error: boom");
  assert.is(results.uncaught.code, 1);
  assert.equal(lines(results["js-exit-from-python"].stdout), ["python: at js.process.exit", "js: after the link", "js: oldest"]);
  assert.is(results["js-exit-from-python"].code, 6);
});

test("H1: SIGTERM beside the real signal-exit runs Python's handlers among everyone's; the process ends by the signal", async () => {
  const r = await signalFixture("python.mjs", "signal", { grace: 10_000 });
  assert.equal(lines(r.stdout), ["ready", "python: at SIGTERM", "js: after the link", "js: oldest", "signal-exit callback null SIGTERM"]);
  assert.is(r.stderr, "");
  assert.is(r.signal, "SIGTERM");
});

test("linkPyodide rejects what is not a Pyodide, and a Pyodide linked twice", async () => {
  const { linkPyodide } = await import("wasm-atexit/pyodide");
  assert.throws(() => linkPyodide({}), (err) => err instanceof TypeError && err.message === "wasm-atexit: linkPyodide: pyodide must be what loadPyodide() resolves to, got an object without runPython");
  assert.match(results.dispose.stdout, 'js: linked again: wasm-atexit: linkPyodide: this Pyodide is already linked, as guest "python"');
});

test.run();
