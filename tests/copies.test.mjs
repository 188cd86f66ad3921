// SPEC R13: one stack per thread, whatever the number of copies of the package.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyBuiltPackage, cutShortNotice, lines, runFixture } from "./helpers.mjs";

const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-copies-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const copyPackage = (name, version) => copyBuiltPackage(join(dir, name), version);

test("ESM, require() and two other copies (other versions) share one stack and one exit listener", () => {
  const r = runFixture("copies.mjs", [copyPackage("copy-a", "0.0.1"), copyPackage("copy-b", "9.9.9")]);
  assert.is(r.stderr, "");
  assert.equal(lines(r.stdout), [
    "exit listeners added 1",
    "counts 4 4 4 4",
    "handler 3",
    "handler 2",
    "handler 1",
    "handler 0",
  ]);
  assert.is(r.code, 0);
});

test("H2 across copies: a timer a handler started, registered through one copy, exits during another copy's shutdown(): an ordinary exit", () => {
  const r = runFixture("copies-exit.mjs", [copyPackage("copy-c", "0.0.2")]);
  assert.equal(lines(r.stdout), ["older handler, through the copy"]);
  assert.is(r.stderr, cutShortNotice("flush"));
  assert.is(r.code, 3);
});

test("a worker thread has its own stack, drained when the worker ends", () => {
  const r = runFixture("workers.mjs");
  assert.is(r.stderr, "");
  assert.equal(lines(r.stdout), [
    "worker pending 1",
    "worker 1 handler",
    "worker ended with 0; main pending 1",
    "main handler",
  ]);
});

test.run();
