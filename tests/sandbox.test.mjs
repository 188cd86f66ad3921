// `--dir` is a sandbox (SPEC W6), and the sandbox costs the official WASI
// test suite nothing: every test of tests/wasi-testsuite that a plain
// node:wasi runner passes, `wasm-atexit run` passes too.
import { suite } from "./suite.mjs";
import * as assert from "uvu/assert";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NATIVE } from "./guests/build.mjs";
import { lines, runFixture, runNode } from "./helpers.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "build", "cli.js");
const files = join(root, NATIVE["c file program"].prebuilt);

const Sandbox = suite("W6: --dir is a sandbox");

// A directory given to the program, beside a secret it must not reach, with
// links inside it that point outside: absolute, relative, to a directory
// and to a file, as the program's enemy (or its own past run) might leave.
let top;
let box;
Sandbox.before.each(() => {
  top = mkdtempSync(join(tmpdir(), "wasm-atexit-sandbox-"));
  box = join(top, "box");
  mkdirSync(join(box, "sub"), { recursive: true });
  writeFileSync(join(box, "in.txt"), "inside\n");
  writeFileSync(join(top, "secret.txt"), "secret\n");
  symlinkSync("/", join(box, "root"));
  symlinkSync("../..", join(box, "sub", "up"));
  symlinkSync(join(top, "secret.txt"), join(box, "abs"));
  symlinkSync("../secret.txt", join(box, "rel"));
  symlinkSync(top, join(box, "top"));
  symlinkSync("in.txt", join(box, "alias"));
  symlinkSync("sub", join(box, "subdir"));
});
Sandbox.after.each(() => rmSync(top, { recursive: true, force: true }));

const probe = (...ops) => runNode(cli, ["run", files, "--dir", `${box}::/box`, "--", ...ops]);

Sandbox("no path reaches outside: absolute, .., links in the middle or at the end; each fails with NOTCAPABLE", () => {
  const r = probe(
    "read", "/box/root/etc/hostname",
    "read", "/box/sub/up/secret.txt",
    "read", "/box/top/secret.txt",
    "read", "/box/abs",
    "read", "/box/rel",
    "read", "/box/../secret.txt",
    "read", "/box/sub/../../secret.txt",
    "stat", "/box/top/secret.txt",
  );
  const refused = (op, path) => `${op} ${path}: Capabilities insufficient`;
  assert.equal(lines(r.stdout), [
    refused("read", "/box/root/etc/hostname"),
    refused("read", "/box/sub/up/secret.txt"),
    refused("read", "/box/top/secret.txt"),
    refused("read", "/box/abs"),
    refused("read", "/box/rel"),
    refused("read", "/box/../secret.txt"),
    refused("read", "/box/sub/../../secret.txt"),
    refused("stat", "/box/top/secret.txt"),
  ]);
  assert.is(r.code, 0);
});

Sandbox("nothing is written, made, moved or removed outside", () => {
  // Through the link to "/", the write aims at the real path of `top`, so
  // that what it would make is seen below.
  const throughRoot = `/box/root${top}/made-through-root.txt`;
  const r = probe(
    "write", "/box/top/made.txt",
    "write", throughRoot,
    "mkdir", "/box/top/made",
    "unlink", "/box/top/secret.txt",
    "rename", "/box/in.txt", "/box/top/moved.txt",
    "rename", "/box/top/secret.txt", "/box/stolen.txt",
    "link", "/box/top/secret.txt", "/box/hard.txt",
  );
  const refused = (op, path) => `${op} ${path}: Capabilities insufficient`;
  assert.equal(lines(r.stdout), [
    refused("write", "/box/top/made.txt"),
    refused("write", throughRoot),
    refused("mkdir", "/box/top/made"),
    refused("unlink", "/box/top/secret.txt"),
    refused("rename", "/box/in.txt"),
    refused("rename", "/box/top/secret.txt"),
    refused("link", "/box/top/secret.txt"),
  ]);
  assert.equal(readdirSync(top).sort(), ["box", "secret.txt"]);
  assert.is(readFileSync(join(top, "secret.txt"), "utf8"), "secret\n");
  assert.ok(existsSync(join(box, "in.txt")));
  assert.not.ok(existsSync(join(box, "hard.txt")));
});

Sandbox("a hard link to a link outside is made (link() does not follow), and still leads nowhere", () => {
  const r = probe("link", "/box/abs", "/box/hard", "read", "/box/hard");
  assert.equal(lines(r.stdout), ["link /box/abs: ok", "read /box/hard: Capabilities insufficient"]);
});

Sandbox("inside, everything works: links that stay inside, .. that stays inside, new files and directories", () => {
  const r = probe(
    "read", "/box/in.txt",
    "read", "/box/alias",
    "read", "/box/sub/../in.txt",
    "read", "/box/subdir/../in.txt",
    "mkdir", "/box/made",
    "write", "/box/made/new.txt",
    "read", "/box/made/new.txt",
    "rename", "/box/made/new.txt", "/box/subdir/moved.txt",
    "read", "/box/sub/moved.txt",
    "symlink", "moved.txt", "/box/sub/again",
    "read", "/box/sub/again",
    "unlink", "/box/sub/again",
  );
  assert.equal(lines(r.stdout), [
    "read /box/in.txt: inside",
    "read /box/alias: inside",
    "read /box/sub/../in.txt: inside",
    "read /box/subdir/../in.txt: inside",
    "mkdir /box/made: ok",
    "write /box/made/new.txt: ok",
    "read /box/made/new.txt: written",
    "rename /box/made/new.txt: ok",
    "read /box/sub/moved.txt: written",
    "symlink moved.txt: ok",
    "read /box/sub/again: written",
    "unlink /box/sub/again: ok",
  ]);
  assert.is(r.code, 0);
});

Sandbox("a link the program makes itself cannot lead out either", () => {
  const r = probe("symlink", "sub/up", "/box/mine", "read", "/box/mine/secret.txt", "read", "/box/mine/box/in.txt");
  // Making the link is allowed (it only names a path); following it out is
  // not, even on a way that comes back in.
  assert.equal(lines(r.stdout), [
    "symlink sub/up: ok",
    "read /box/mine/secret.txt: Capabilities insufficient",
    "read /box/mine/box/in.txt: Capabilities insufficient",
  ]);
});

Sandbox("a directory with a link in its own path is confined to where the link leads", () => {
  const alias = join(top, "alias-of-box");
  symlinkSync(box, alias);
  const r = runNode(cli, ["run", files, "--dir", `${alias}::/box`, "--", "read", "/box/in.txt", "read", "/box/sub/up/secret.txt"]);
  assert.equal(lines(r.stdout), ["read /box/in.txt: inside", "read /box/sub/up/secret.txt: Capabilities insufficient"]);
});

Sandbox("runWasi({ preopens }) is confined the same way", () => {
  const r = runFixture("sandbox.mjs", [files, box]);
  assert.equal(lines(r.stdout), ["read /box/in.txt: inside", "read /box/top/secret.txt: Capabilities insufficient", "exit 0"]);
});

Sandbox.run();

// The official WASI test suite (WebAssembly/wasi-testsuite, wasm32-wasip1),
// each test run by `wasm-atexit run` and by a plain node:wasi runner.
const Conformance = suite("the official WASI test suite under wasm-atexit run");
const SUITE = join(root, "tests", "wasi-testsuite", "tests");

/** Every test of the suite: its module, and its .json (args, env, root folder, exit code, stdout). */
function suiteTests() {
  const found = [];
  for (const language of readdirSync(SUITE)) {
    const folder = join(SUITE, language, "testsuite", "wasm32-wasip1");
    for (const file of readdirSync(folder).filter((name) => name.endsWith(".wasm")).sort()) {
      const json = join(folder, file.replace(/\.wasm$/, ".json"));
      const spec = existsSync(json) ? JSON.parse(readFileSync(json, "utf8")) : {};
      found.push({ name: `${language}/${file}`, folder, wasm: join(folder, file), ...spec });
    }
  }
  return found;
}

/** Runs one test with `runner` ("wasm-atexit" or "node:wasi"); true when its exit code and stdout are as the suite says. */
function passes(test, runner) {
  let dir;
  const preopens = [];
  if (test.root) {
    // Tests may write: each run gets a fresh, writable copy of its folder.
    dir = mkdtempSync(join(tmpdir(), "wasm-atexit-wasi-testsuite-"));
    cpSync(join(test.folder, test.root), dir, { recursive: true });
    chmodAll(dir);
    preopens.push(dir);
  }
  try {
    const args = test.args ?? [];
    const env = Object.entries(test.env ?? {}).map(([key, value]) => `${key}=${value}`);
    const r =
      runner === "wasm-atexit"
        ? runNode(cli, ["run", test.wasm, ...preopens.flatMap((host) => ["--dir", `${host}::/`]), ...env.flatMap((pair) => ["--env", pair]), "--", ...args])
        : runFixture("plain-wasi.mjs", [test.wasm, JSON.stringify({ args, env: test.env ?? {}, preopens: dir ? { "/": dir } : {} })]);
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

Conformance("every test that plain node:wasi passes, wasm-atexit run passes", () => {
  const tests = suiteTests();
  assert.ok(tests.length >= 26, `found ${tests.length} tests`);
  const plain = tests.filter((test) => passes(test, "node:wasi"));
  const ours = tests.filter((test) => passes(test, "wasm-atexit"));
  const lost = plain.filter((test) => !ours.includes(test)).map((test) => test.name);
  assert.equal(lost, [], `passed under node:wasi only: ${lost.join(", ")}`);
  // The floor as measured when the suite was added: 24 of 26.
  assert.ok(ours.length >= 24, `wasm-atexit run passed ${ours.length} of ${tests.length}`);
  console.log(`  wasi-testsuite: wasm-atexit run ${ours.length}/${tests.length}, plain node:wasi ${plain.length}/${tests.length}`);
});

Conformance.run();
