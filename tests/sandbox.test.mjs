// `--dir` is a sandbox (SPEC W6), also for the calls wasm-atexit answers
// itself (bindings/wasi-fs.ts); and the official WASI test suite
// (tests/wasi-testsuite) passes whole under `wasm-atexit run`, where a
// plain node:wasi runner fails some: every test that one passes, ours does.
import { suite } from "./suite.mjs";
import * as assert from "uvu/assert";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NATIVE } from "./guests/build.mjs";
import { fixture, lines, runFixture, runNode } from "./helpers.mjs";
import { passes, suiteTests } from "./wasi-suite.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "build", "cli.js");
const files = join(root, NATIVE["c file program"].prebuilt);
// readlink, utimensat with and without following, readdir, O_NOFOLLOW.
const paths = fixture("wasi-paths.wasm");

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

Sandbox("readlink, times, readdir and O_NOFOLLOW, answered by wasm-atexit itself, walk their paths too: nothing outside is reached", () => {
  const times = () => [statSync(join(top, "secret.txt"), { bigint: true }).mtimeNs, lstatSync(top, { bigint: true }).mtimeNs];
  const before = times();
  const outside = [
    "readlink", "/box/top/box/alias",
    "readlink", "/box/../box/alias",
    "readlink", "/box/sub/up/box/alias",
    "utime", "/box/abs",
    "utime", "/box/rel",
    "utime", "/box/top/secret.txt",
    "utime", "/box/../secret.txt",
    "lutime", "/box/top/box/in.txt",
    "lutime", "/box/top",
    "list", "/box/top",
    "list", "/box/sub/up",
    "list", "/box/..",
    "nofollow", "/box/top/secret.txt",
    "nofollow", "/box/sub/up/secret.txt",
  ];
  // Last, an open file's path swapped for a link out: its times are set
  // on the file itself (by node:wasi, to the second), not through the link.
  const swap = ["swap", "/box/in.txt", "/box/abs"];
  const r = runNode(cli, ["run", paths, "--dir", `${box}::/box`, "--", ...outside, ...swap]);
  const refused = [];
  for (let i = 0; i < outside.length; i += 2) refused.push(`${outside[i]} ${outside[i + 1]}: Capabilities insufficient`);
  // lutime /box/top sets the times of the link in the box, not of what it leads to.
  refused[8] = "lutime /box/top: 1000000000.000000123";
  assert.equal(lines(r.stdout), [...refused, "swap /box/in.txt: 1000000000.000000000"]);
  assert.is(statSync(join(box, "in.txt.moved"), { bigint: true }).mtimeNs, 1_000_000_000_000_000_000n);
  // Nor on what took the file's place.
  assert.is.not(lstatSync(join(box, "in.txt"), { bigint: true }).mtimeNs, 1_000_000_000_000_000_123n);
  assert.equal(times(), before);
  assert.is(r.code, 0);
});

Sandbox("inside, they answer as WASI says: the link's own text, nanosecond times on the link, its file or an fd, . and .., ELOOP", () => {
  const r = runNode(cli, ["run", paths, "--dir", `${box}::/box`, "--",
    "readlink", "/box/abs",
    "readlink", "/box/subdir",
    "lutime", "/box/alias",
    "utime", "/box/subdir/../in.txt",
    "futime", "/box/sub/up/box/subdir",
    "futime", "/box/alias",
    "list", "/box/subdir",
    "nofollow", "/box/alias",
    "nofollow", "/box/subdir/../in.txt",
  ]);
  assert.equal(lines(r.stdout), [
    `readlink /box/abs: ${join(top, "secret.txt")}`,
    "readlink /box/subdir: sub",
    "lutime /box/alias: 1000000000.000000123",
    "utime /box/subdir/../in.txt: 1000000000.000000123",
    "futime /box/sub/up/box/subdir: Capabilities insufficient",
    "futime /box/alias: 1000000000.000000123",
    "list /box/subdir: . .. up",
    "nofollow /box/alias: Symbolic link loop",
    "nofollow /box/subdir/../in.txt: ok",
  ]);
  assert.is(lstatSync(join(box, "alias"), { bigint: true }).mtimeNs, 1_000_000_000_000_000_123n);
  assert.is(statSync(join(box, "in.txt"), { bigint: true }).mtimeNs, 1_000_000_000_000_000_123n);
});

Sandbox("runWasi({ preopens }) is confined the same way", () => {
  const r = runFixture("sandbox.mjs", [files, box]);
  assert.equal(lines(r.stdout), ["read /box/in.txt: inside", "read /box/top/secret.txt: Capabilities insufficient", "exit 0"]);
});

Sandbox.run();

// The official WASI test suite, each test run by `wasm-atexit run` and by a
// plain node:wasi runner.
const Conformance = suite("the official WASI test suite under wasm-atexit run");

Conformance("all 72 tests pass under wasm-atexit run, and so does every one plain node:wasi passes", () => {
  const tests = suiteTests();
  // AssemblyScript 12, C 14, Rust 46.
  assert.is(tests.length, 72, `found ${tests.length} tests`);
  const plain = tests.filter((test) => passes(test, "node:wasi"));
  const ours = tests.filter((test) => passes(test, cli));
  console.log(`  wasi-testsuite: wasm-atexit run ${ours.length}/${tests.length}, plain node:wasi ${plain.length}/${tests.length}`);
  const lost = plain.filter((test) => !ours.includes(test)).map((test) => test.name);
  assert.equal(lost, [], `passed under node:wasi only: ${lost.join(", ")}`);
  const failed = tests.filter((test) => !ours.includes(test)).map((test) => test.name);
  assert.equal(failed, [], `failed under wasm-atexit run: ${failed.join(", ")}`);
});

Conformance("runWasi() passes the tests plain node:wasi fails, as the command does", () => {
  const fixed = ["c/sock_shutdown-invalid_fd", "c/sock_shutdown-not_sock", ...["dangling_symlink", "dir_fd_op_failures", "fd_filestat_set",
    "fd_readdir", "interesting_paths", "nofollow_errors", "path_filestat", "readlink", "symlink_filestat", "truncation_rights"].map((name) => `rust/${name}`)];
  const tests = suiteTests().filter((test) => fixed.includes(test.name));
  assert.is(tests.length, fixed.length);
  assert.equal(tests.filter((test) => !passes(test, "runWasi")).map((test) => test.name), []);
});

Conformance.run();
