// The two examples of the seed (Python's atexit documentation), run as real
// programs: the persistent counter and the goodbye with arguments.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lines } from "./helpers.mjs";

const demo = fileURLToPath(new URL("../demo/counter.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-seed-"));
const counterFile = join(dir, "counter");
const runDemo = () => {
  const env = { ...process.env };
  delete env.WASM_ATEXIT_DEMO_DATA; // on its own, not as a part of npm start
  return spawnSync(process.execPath, [demo, counterFile], { encoding: "utf8", env });
};

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("the counter is saved at exit and advances by one per run", () => {
  const first = runDemo();
  assert.is(first.status, 0, first.stderr);
  assert.is(readFileSync(counterFile, "utf8"), "1");
  const second = runDemo();
  assert.is(second.status, 0, second.stderr);
  assert.is(readFileSync(counterFile, "utf8"), "2");
  assert.equal(lines(second.stdout), [
    "JavaScript counter is 2",
    "Goodbye, Walter, it was nice to meet you. (from JavaScript)",
    "Goodbye, Donny, it was nice to meet you. (from JavaScript)",
    "JavaScript saved its counter, 2",
  ]);
});

test.run();
