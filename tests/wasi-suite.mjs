// The official WASI test suite (WebAssembly/wasi-testsuite, wasm32-wasip1,
// vendored in tests/wasi-testsuite), run one test at a time by a given
// runner: `wasm-atexit run` (the repository's build or an installed copy),
// runWasi(), or a plain node:wasi runner. Used by sandbox.test.mjs and
// pack.test.mjs.
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runFixture, runNode } from "./helpers.mjs";

const SUITE = fileURLToPath(new URL("./wasi-testsuite/tests", import.meta.url));
const FIXTURES = { "node:wasi": "plain-wasi.mjs", runWasi: "run-wasi.mjs" };

/** Every test of the suite: its name, module, and .json (args, env, root folder, exit code, stdout). */
export function suiteTests() {
  const found = [];
  for (const language of readdirSync(SUITE).sort()) {
    const folder = join(SUITE, language, "testsuite", "wasm32-wasip1");
    for (const file of readdirSync(folder).filter((name) => name.endsWith(".wasm")).sort()) {
      const json = join(folder, file.replace(/\.wasm$/, ".json"));
      const spec = existsSync(json) ? JSON.parse(readFileSync(json, "utf8")) : {};
      found.push({ name: `${language}/${file.replace(/\.wasm$/, "")}`, folder, wasm: join(folder, file), ...spec });
    }
  }
  return found;
}

/**
 * Runs one test; true when its exit code and stdout are as the suite says.
 * `runner` is the wasm-atexit command to run it with (a path to cli.js),
 * "runWasi", or "node:wasi" for the plain runner.
 */
export function passes(test, runner) {
  let dir;
  if (test.root) {
    // Tests may write: each run gets a fresh, writable copy of its folder.
    dir = mkdtempSync(join(tmpdir(), "wasm-atexit-wasi-testsuite-"));
    cpSync(join(test.folder, test.root), dir, { recursive: true });
    chmodAll(dir);
  }
  try {
    const args = test.args ?? [];
    const env = Object.entries(test.env ?? {}).map(([key, value]) => `${key}=${value}`);
    const options = JSON.stringify({ args, env: test.env ?? {}, preopens: dir ? { "/": dir } : {} });
    const r =
      runner in FIXTURES
        ? runFixture(FIXTURES[runner], [test.wasm, options])
        : runNode(runner, ["run", test.wasm, ...(dir ? ["--dir", `${dir}::/`] : []), ...env.flatMap((pair) => ["--env", pair]), "--", ...args]);
    return r.code === (test.exit_code ?? 0) && r.stdout.startsWith(test.stdout ?? "");
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function chmodAll(path) {
  chmodSync(path, 0o755);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const inner = join(path, entry.name);
    if (entry.isDirectory()) chmodAll(inner);
    else chmodSync(inner, 0o644);
  }
}
