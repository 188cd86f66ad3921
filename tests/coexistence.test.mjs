// wasm-atexit beside the other exit libraries and the exits of real
// programs (SPEC H1, H2, H4, R9, R12, R14): child processes that get real
// signals, with the real signal-exit, exit-hook and close-with-grace.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyPackage, cutShortNotice, lines, runFixture, signalFixture } from "./helpers.mjs";

// The second copy of the package, for the scenarios that have two.
const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-coexist-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const secondCopy = copyPackage(dir, "second-copy", "0.0.3");

const terminate = (scenario, options) => signalFixture("coexist.mjs", scenario, options);
const run = (scenario, env) => runFixture("coexist.mjs", [scenario], env ? { env: { ...process.env, ...env } } : {});
const failures = (stderr) => stderr.split("\n").filter((line) => line.startsWith("wasm-atexit: exit handler") && line.endsWith("failed:"));

/** Asserts that the process drained, awaited its async handler, and ended by SIGTERM well before SIGKILL. */
function drainedThenEndedBySigterm(r) {
  assert.ok(lines(r.stdout).includes("async handler finished"), r.stdout + r.stderr);
  assert.is(r.signal, "SIGTERM", `ended by ${r.signal} / ${r.code}:\n${r.stderr}`);
  assert.ok(r.took < 2500, `ended in ${r.took} ms, not at SIGKILL`);
}

test("H1: handleSignals() called twice, by two copies of the package, acts once", async () => {
  const r = await terminate("signals-twice", { args: [secondCopy] });
  assert.equal(lines(r.stdout), ["ready", "async handler finished", "older handler"]);
  assert.is(r.stderr, "");
  drainedThenEndedBySigterm(r);
});

test("H1: beside signal-exit's onExit, loaded before or after, both run and the process ends by SIGTERM", async () => {
  for (const scenario of ["signal-exit", "signal-exit-after"]) {
    const r = await terminate(scenario);
    assert.equal(lines(r.stdout), ["ready", "async handler finished", "signal-exit callback null SIGTERM"], scenario);
    drainedThenEndedBySigterm(r);
  }
});

test("H1: beside exit-hook, its callback runs after the drain and it ends the process its way (128 + 15)", async () => {
  const r = await terminate("exit-hook");
  assert.equal(lines(r.stdout), ["ready", "async handler finished", "exit-hook callback 143"]);
  assert.is(r.code, 143);
  assert.ok(r.took < 2500, `ended in ${r.took} ms`);
});

test("H1: beside close-with-grace, its callback runs after the drain and it ends the process its way", async () => {
  const r = await terminate("close-with-grace");
  assert.equal(lines(r.stdout), ["ready", "async handler finished", "close-with-grace SIGTERM"]);
  assert.is(r.code, 0);
  assert.ok(r.took < 2500, `ended in ${r.took} ms`);
});

test("H1: signal-exit, exit-hook and handleSignals() called by two copies at once: nothing is swallowed", async () => {
  const r = await terminate("all-libraries", { args: [secondCopy] });
  assert.equal(lines(r.stdout).slice(0, 3), ["ready", "async handler finished", "exit-hook callback"]);
  assert.ok(r.stdout.includes("signal-exit callback"), r.stdout);
  assert.is(r.code, 143);
  assert.ok(r.took < 2500, `ended in ${r.took} ms`);
});

test("H1: the application's once listener, added before handleSignals(), wins and is not cut off", async () => {
  const r = await terminate("app-once-before");
  assert.equal(lines(r.stdout), ["ready", "application SIGTERM listener", "application finished its own shutdown", "handler at exit"]);
  assert.is(r.code, 0);
  assert.is(r.signal, null);
});

test("H1: the application's listener, added after handleSignals(), wins", async () => {
  const r = await terminate("app-on-after");
  assert.equal(lines(r.stdout), ["ready", "application SIGTERM listener", "handler at exit"]);
  assert.is(r.code, 0);
});

test("H1: handleSignals({ signals }) chooses the set", async () => {
  const r = await terminate("signals-option", { signal: "SIGUSR2" });
  assert.equal(lines(r.stdout), ["ready", "async handler finished"]);
  assert.is(r.signal, "SIGUSR2");
  const untouched = await terminate("signals-option");
  assert.equal(lines(untouched.stdout), ["ready"], "SIGTERM is not in the set: its default action");
  assert.is(untouched.signal, "SIGTERM");
});

test("H2: a signal during shutdown() joins its drain: the awaited handler finishes, then the older one; the process ends by the signal", async () => {
  const r = await terminate("signal-during-shutdown");
  assert.equal(lines(r.stdout), ["ready", "newer handler finished", "older handler"]);
  assert.is(r.stderr, "");
  assert.is(r.signal, "SIGTERM");
});

test("H2: two shutdown() calls make one drain; each handler runs once, in order; the last code asked for wins", () => {
  const r = run("shutdown-twice");
  assert.equal(lines(r.stdout), ["newer handler finished", "older handler"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 5);
});

test("H2: process.exit() from a timer during an awaited drain is an ordinary exit: nothing thrown, the rest run, its code kept", () => {
  const r = run("exit-from-timer");
  assert.equal(lines(r.stdout), ["older handler"]);
  assert.is(r.stderr, cutShortNotice("longFlush"));
  assert.is(r.code, 7);
});

test("H2: at the natural end, beside signal-exit, process.exit() from an application's unref'd timer while a handler is awaited is an ordinary exit", () => {
  const r = run("exit-from-app-timer-at-natural-end");
  assert.equal(lines(r.stdout), ["newest handler", "older handler", "signal-exit saw code 7"]);
  assert.is(r.stderr, cutShortNotice("longFlush"));
  assert.is(r.code, 7);
});

test("H2: process.exit() from a timer an awaited handler started is an ordinary exit, beside signal-exit and exit-hook: nothing thrown, the rest run, its code kept", () => {
  const r = run("exit-from-handlers-timer");
  assert.equal(lines(r.stdout), ["older handler", "exit-hook saw code 3", "signal-exit saw code 3"]);
  assert.is(r.stderr, cutShortNotice("flush"));
  assert.is(r.code, 3);
});

test("H2, R10: a handler's own process.exit() after an await is its exit request", () => {
  const r = run("exit-in-handler-after-await");
  assert.equal(lines(r.stdout), ["older handler"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 4);
});

test("R12, R10: at the natural end, beside signal-exit, process.exit() after an await in a handler, async or not, is its exit request; the last code asked for wins", () => {
  const r = run("exit-after-await-at-natural-end");
  assert.equal(lines(r.stdout), ["older handler", "plain handler's continuation", "oldest handler", "signal-exit saw code 5"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 5);
});

for (const [scenario, how] of [
  ["hostile-exit", "at process.exit(0)"],
  ["hostile-natural", "at the natural end"],
]) {
  test(`R9: revoked Proxies and throwing getters, thrown or returned, ${how}: every handler runs, each failure reported, exit 1`, () => {
    const r = run(scenario);
    assert.equal(lines(r.stdout), ["newest handler ran", "oldest handler ran"]);
    assert.is(failures(r.stderr).length, 7, r.stderr);
    assert.ok(r.stderr.includes("a value that cannot be inspected"), r.stderr);
    assert.ok(r.stderr.includes("Error: getter then"), r.stderr);
    assert.ok(r.stderr.includes("Error: constructor getter"), r.stderr);
    assert.ok(r.stderr.includes("Cannot perform 'apply' on a proxy that has been revoked"), r.stderr);
    assert.is(r.code, 1);
  });
}

test("R9: the same hostile values at a signal: every handler runs, the process ends by the signal", async () => {
  const r = await terminate("hostile-signal");
  assert.equal(lines(r.stdout), ["ready", "newest handler ran", "oldest handler ran"]);
  assert.is(failures(r.stderr).length, 7, r.stderr);
  assert.is(r.signal, "SIGTERM");
});

test("R12: work an application's beforeExit listener schedules runs with every resource open; handlers run once the loop is empty for good", () => {
  const r = run("before-exit-more-work");
  assert.equal(lines(r.stdout), [
    "application beforeExit 1, resource open",
    "more work, resource open",
    "application beforeExit 2, resource open",
    "handler closed the resource",
  ]);
  assert.is(r.code, 0);
});

test("H2: trace lines of awaited handlers are written when their promise settles, with the real duration and outcome", () => {
  const r = run("trace", { WASM_ATEXIT_TRACE: "1" });
  const traced = lines(r.stderr).filter((line) => line.startsWith("wasm-atexit trace:"));
  assert.is(traced.length, 2, r.stderr);
  const took = Number(/"takes300" settled in ([\d.]+) ms/.exec(traced[0])?.[1]);
  assert.ok(took >= 295 && took < 2000, traced[0]);
  assert.match(traced[1], /^wasm-atexit trace: "rejects" failed after [\d.]+ ms: Error: late failure$/);
  assert.is(r.code, 1);
});

test("H4: onExit callbacks get the uncaught error or unhandled rejection that ends the program", () => {
  const r = run("uncaught");
  assert.equal(lines(r.stdout), ["onExit 1 null boom"]);
  assert.is(r.code, 1);
  const rejected = run("rejection");
  assert.equal(lines(rejected.stdout), ["onExit 1 null rejected"]);
  assert.is(rejected.code, 1);
});

test("H4: handleSignals({ uncaughtErrors: true }) drains with awaiting, reports the error once, exits 1", () => {
  const r = run("uncaught-graceful");
  assert.equal(lines(r.stdout), ["async handler finished", "onExit 1 null boom"]);
  assert.is(r.stderr.split("Error: boom").length - 1, 1, r.stderr);
  assert.ok(r.stderr.startsWith("wasm-atexit: uncaught error; running the exit handlers, then exiting with 1:\nError: boom"), r.stderr);
  assert.is(r.code, 1);
});

test("R14: configureReports routes failures and notices to the application's writer", () => {
  const r = run("reports-routed");
  assert.equal(lines(r.stdout), [
    "logger got failure: wasm-atexit: exit handler <anonymous> failed:",
    'logger got notice: wasm-atexit: exit handler "unawaited" returned a promise that could not be awaited at this exit; shutdown() and handleSignals() await them',
  ]);
  assert.is(r.stderr, "");
  assert.is(r.code, 1);
});

test("R14: level 'failures' silences notices, never failures", () => {
  const r = run("reports-failures-only");
  assert.ok(r.stderr.startsWith("wasm-atexit: exit handler <anonymous> failed:\nError: kept failure"), r.stderr);
  assert.not.match(r.stderr, /could not be awaited/);
  assert.is(r.code, 1);
});

test("R14: a report writer that throws loses no handler and no report", () => {
  const r = run("reports-writer-throws");
  assert.equal(lines(r.stdout), ["older handler"]);
  assert.match(r.stderr, /exit handler <anonymous> failed:\nError: handler failure/);
  assert.match(r.stderr, /the report writer threw: Error: logger down/);
  assert.is(r.code, 1);
});

test.run();
