// The model test again, on the debug core (tests/debug-core.mjs): its
// assertions check that the bindings keep the core's protocol — ranges
// linked before they are reserved again, one batch taken at a time, each
// settled before anything else touches the stack — which the release
// core trusts without checking.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const withDebugCore = (args, env = {}) =>
  spawnSync(process.execPath, ["--import", "./tests/debug-core.mjs", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });

test("the debug core is the one loaded, and a broken protocol fails with its assertion's message", () => {
  const r = withDebugCore([
    "--input-type=module",
    "-e",
    `import atexit from "wasm-atexit";
     atexit.register(() => {});
     const core = globalThis[Symbol.for("wasm-atexit.runtime")].internals;
     try { core.take(5000, 0); } catch (err) { console.log(err.message); }
     atexit.clear();`,
  ]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, "wasm-atexit: the core's assertion failed: take: a batch is out\n");
});

test("the model test passes on the debug core", () => {
  // A fresh process: half the sequences start without the core, and hand
  // the stack to the debug core mid-drain.
  const r = withDebugCore(["tests/model.test.mjs"], { WASM_ATEXIT_MODEL_RUNS: "4000", WASM_ATEXIT_MODEL_FRESH: "1" });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Passed:\s+\S*1\b/);
  assert.ok(r.stdout.includes("(the model test ran 4000 random sequences)"), r.stdout);
  assert.match(r.stdout, /\(\d+ started without the core: [1-9]\d* drains ended without it, [1-9]\d* handed over to it mid-drain\)/);
});

test.run();
