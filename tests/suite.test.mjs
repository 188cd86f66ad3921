// The test command itself: a hook that throws fails the run (tests/suite.mjs),
// and every test file takes its suites from there.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fixture, runNode } from "./helpers.mjs";

const tests = fileURLToPath(new URL(".", import.meta.url));
// The command `npm test` runs (package.json's "bin" of uvu; its exports hide it).
const uvu = fileURLToPath(new URL("../node_modules/uvu/bin.js", import.meta.url));

/** Runs tests/fixtures/hooks with uvu's command, as `npm test` runs tests/, breaking the hook `hook`. */
function runHooked(hook) {
  const r = runNode(uvu, [fixture("hooks")], { env: { ...process.env, HOOK: hook } });
  const stdout = r.stdout.replace(/\x1b\[[0-9;]*m/g, ""); // uvu colours its output under npm test
  const total = Number(/Total: +(\d+)/.exec(stdout)?.[1]);
  const passed = Number(/Passed: +(\d+)/.exec(stdout)?.[1]);
  return { ...r, stdout, total, passed };
}

test("with no hook broken, hooks and tests run in uvu's order and the run passes", () => {
  const r = runHooked("none");
  assert.ok(
    r.stdout.includes("ran: before, before.each, one, after.each, before.each, two, after.each, before.each, three, after.each, after\n"),
    r.stdout,
  );
  assert.equal([r.total, r.passed, r.code], [4, 4, 0], r.stdout + r.stderr);
});

for (const [hook, passed] of [
  ["before", 1],
  ["before.each", 1],
  ["after.each", 1],
  ["after", 3],
]) {
  test(`a throwing ${hook} hook fails its tests and the run (exit 1), and the later file still runs`, () => {
    const r = runHooked(hook);
    assert.equal([r.total, r.passed, r.code], [4, passed, 1], r.stdout + r.stderr);
    assert.ok(r.stdout.includes(`the ${hook} hook threw: broken ${hook}`), r.stdout);
    assert.match(r.stdout, /b-later\.mjs\n.*\(1 \/ 1\)/);
  });
}

test('every test file takes its suites from tests/suite.mjs, not from "uvu"', () => {
  for (const file of readdirSync(tests).filter((name) => name.endsWith(".test.mjs"))) {
    const source = readFileSync(new URL(file, import.meta.url), "utf8");
    assert.not.match(source, /^import [^;]* from "uvu";$/m, file);
    assert.match(source, /^import \{ (suite|test)(, test)? \} from "\.\/suite\.mjs";$/m, file);
  }
});

test.run();
