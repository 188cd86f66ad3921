// Signals (SPEC H1) and graceful async shutdown (H2), in child processes.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { lines, runFixture, signalFixture, startFixture } from "./helpers.mjs";

const terminate = (scenario, options) => signalFixture("shutdown.mjs", scenario, options);

test("H1, H2: on SIGTERM async handlers are awaited, newest first, inside the grace period; the status is SIGTERM's", async () => {
  const r = await terminate("graceful");
  assert.equal(lines(r.stdout), ["ready", "sync handler", "onExit 143 SIGTERM", "flushed after 300 ms"]);
  assert.is(r.stderr, "");
  assert.is(r.signal, "SIGTERM", "re-raised, so the parent sees the real cause");
  assert.ok(r.took < 3000, `ended in ${r.took} ms`);
});

test("H1: SIGINT too", async () => {
  const r = await terminate("graceful", { signal: "SIGINT" });
  assert.equal(lines(r.stdout), ["ready", "sync handler", "onExit 130 SIGINT", "flushed after 300 ms"]);
  assert.is(r.signal, "SIGINT");
});

test("H2: a handler still running at the deadline is reported by name; the drain goes on", async () => {
  const r = await terminate("deadline");
  assert.equal(lines(r.stdout), ["ready", "older handler ran"]);
  assert.is(r.stderr, 'wasm-atexit: exit handler "slowFlush" was still running at the shutdown deadline (300 ms); the drain goes on without it\n');
  assert.is(r.signal, "SIGTERM");
  assert.ok(r.took < 3000, `ended in ${r.took} ms, not at SIGKILL`);
});

test("H1: a signal the application listens to is the application's", async () => {
  const r = await terminate("app-listener");
  assert.equal(lines(r.stdout), ["ready", "the application handles SIGTERM", "handler at exit"]);
  assert.is(r.code, 0);
  assert.is(r.signal, null);
});

test("H1: a second signal during the drain takes its default action at once", async () => {
  const { child, ready, waitFor, ended } = startFixture("shutdown.mjs", ["second-signal"]);
  await ready;
  child.kill("SIGTERM");
  await waitFor("draining");
  child.kill("SIGINT");
  const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
  const r = await ended;
  clearTimeout(killer);
  assert.equal(lines(r.stdout), ["ready", "draining"]);
  assert.is(r.signal, "SIGINT");
});

test("H2: shutdown(code) awaits async handlers, then exits with the code", () => {
  const r = runFixture("shutdown.mjs", ["shutdown"]);
  assert.equal(lines(r.stdout), ["sync handler", "async handler done"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 3);
});

test("H2, R10: process.exit in an async handler ends that handler; the rest run; its code wins", () => {
  const r = runFixture("shutdown.mjs", ["shutdown-exit-in-handler"]);
  assert.equal(lines(r.stdout), ["older handler ran"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 4);
});

test("H2: when the program runs out of work, async handlers are awaited", () => {
  const r = runFixture("shutdown.mjs", ["idle"]);
  assert.equal(lines(r.stdout), ["awaited when the program ran out of work"]);
  assert.is(r.code, 0);
});

test("H2: a synchronous exit starts async handlers and says which it could not wait for", () => {
  const r = runFixture("shutdown.mjs", ["sync-exit"]);
  assert.is(r.stdout, "");
  assert.is(
    r.stderr,
    'wasm-atexit: exit handler "flushLater" returned a promise that could not be awaited at this exit; shutdown() and handleSignals() await them\n',
  );
  assert.is(r.code, 0);
});

test.run();
