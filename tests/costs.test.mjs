// What a program's end costs (SPEC P2, P4, P7), as structure, not time:
// timings are the benchmark's (`npm run bench`). A short program that
// registers plain handlers drains them without loading the core, and
// neither it nor the command loads a module of Node's that nothing uses:
// node:perf_hooks, which the global `performance` loads on first use
// (bindings/clock.ts), or node:stream, which an `import ... from "node:fs"`
// loads (bindings/cli.ts). Each costs about a millisecond of every run.
import { suite } from "./suite.mjs";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NATIVE } from "./guests/build.mjs";
import { copyPackage, lines, runFixture, runNode } from "./helpers.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const Costs = suite("what a program's end loads: nothing it does not use");

const TEN = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];

for (const [ending, expected] of Object.entries({
  // The drain at beforeExit; the loop does not turn again for it.
  natural: { ran: TEN, idle: 1 },
  // The drain at the exit event.
  exit: { ran: TEN, idle: 0 },
  // A handler's promise awaited at the natural end, under the deadline.
  awaited: { ran: ["awaited", ...TEN], idle: 1 },
})) {
  Costs(`${ending}: the handlers run without the core, node:perf_hooks or node:stream`, () => {
    const r = runFixture("end-costs.mjs", [ending]);
    assert.is(r.stderr, "");
    assert.is(r.code, 0);
    assert.equal(JSON.parse(r.stdout), { ...expected, code: 0, coreLoaded: false, loaded: [] });
  });
}

for (const [ending, expected] of Object.entries({
  // The drain at beforeExit, the second copy's handler, registered last, first.
  neighbours: { ran: ["copy", ...TEN], loaded: [] },
  // exit-hook and close-with-grace act at beforeExit before the drain, and
  // exit-hook loads node:stream itself.
  "exit-libraries": { ran: ["exit-hook", "close-with-grace", "copy", ...TEN], loaded: ["stream"] },
})) {
  Costs(`${ending}: beside the real signal-exit and a second copy, one LIFO drain, without the core or node:perf_hooks`, () => {
    const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-costs-"));
    try {
      const r = runFixture("end-costs.mjs", [ending, copyPackage(dir, "wasm-atexit", "0.0.5")]);
      assert.is(r.stderr, "");
      assert.is(r.code, 0);
      const [report, ...rest] = lines(r.stdout);
      assert.equal(JSON.parse(report), { ...expected, idle: 1, code: 0, coreLoaded: false });
      assert.equal(rest, ["signal-exit callback"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

Costs("the command loads neither node:perf_hooks nor node:stream, before or while it drains", () => {
  const program = NATIVE["c program with atexit()"].prebuilt;
  const r = runNode(join(root, "build", "cli.js"), ["run", program, "--import", "tests/fixtures/end-costs.mjs"], { cwd: root });
  assert.equal(lines(r.stdout), ["main returns", "handler exits with 0", "older C handler", JSON.stringify({ command: true, loaded: [] })]);
  assert.is(r.stderr, "");
  assert.is(r.code, 0);
});

Costs.run();
