// WASI hosts and the command (SPEC W1–W3): a C WASI program, linked to a C
// library and an AssemblyScript library, run by the real command (and by
// runWasi under browser_wasi_shim) in child processes.
import { suite } from "./suite.mjs";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NATIVE, buildAssemblyScript } from "./guests/build.mjs";
import { copyPackage, lines, runFixture, runNode } from "./helpers.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-wasi-"));
const aslib = join(dir, "aslib.wasm");
writeFileSync(aslib, buildAssemblyScript("wasi-lib", ["--exportStart", "_initialize"]));
const program = NATIVE["c WASI program"].prebuilt;
const clib = NATIVE["c WASI library"].prebuilt;

/** Runs the command (build/cli.js) from the repository root. */
const command = (args, env = {}) => runNode(join(root, "build", "cli.js"), args, { cwd: root, env: { ...process.env, ...env } });
const runProgram = (how, extra = [], env) =>
  command(["run", program, "--link", `clib=${clib}`, "--link", `aslib=${aslib}`, ...extra, "--", how], env);

// The shared stack in LIFO order: the program's 4, the AssemblyScript
// library's 3, the C library's 2, the program's 1.
const SHARED = ["program shared handler 4", "aslib shared handler 3", "clib shared handler 2", "program shared handler 1"];

const Endings = suite("a WASI program's endings");

Endings("W3, W1: exit(7) from main runs libc's atexit handlers inside exit(), then the shared stack; code 7", () => {
  const r = runProgram("exit", ["--import", "tests/fixtures/wasi-js.mjs"]);
  assert.equal(lines(r.stdout), ["main: exit", "program libc atexit handler", ...SHARED, "js handler"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 7);
});

Endings("W2: main returning 0 (no proc_exit) drains the stack after start() returns; code 0", () => {
  const r = runProgram("return");
  assert.equal(lines(r.stdout), ["main: return", "program libc atexit handler", ...SHARED]);
  assert.is(r.stderr, "");
  assert.is(r.code, 0);
});

Endings("W1: proc_exit from inside a linked library drains the stack; the program's libc handlers are not the library's", () => {
  const r = runProgram("lib-exit");
  assert.equal(lines(r.stdout), ["main: lib-exit", ...SHARED]);
  assert.is(r.code, 9);
});

Endings("a program that traps: one line naming it, handlers still run, code 1", () => {
  const r = runProgram("trap");
  assert.equal(lines(r.stdout), ["main: trap", ...SHARED]);
  assert.is(r.stderr, "wasm-atexit: program-c.wasm trapped: unreachable\n");
  assert.is(r.code, 1);
});

Endings("runWasi's refusals are the package's WasiError, a trap's with the RuntimeError as its cause", () => {
  const r = runFixture("wasi-refusals.mjs", [program, clib, aslib]);
  assert.equal(lines(r.stdout).filter((line) => !line.startsWith("main: ") && !line.includes("shared handler")), [
    "trap: WasiError, program trapped: unreachable, RuntimeError cause",
    "not wasm: WasiError, junk is not a WebAssembly module, no cause",
    "shim preopens: WasiError, preopens need node:wasi: browser_wasi_shim has no access to host directories, no cause",
  ]);
  assert.is(r.stderr, "");
});

Endings("the same program under @bjorn3/browser_wasi_shim", () => {
  for (const [how, code, libc] of [["exit", 7, true], ["return", 0, true], ["lib-exit", 9, false]]) {
    const r = runFixture("wasi-shim.mjs", [program, clib, aslib, how]);
    const expected = [`main: ${how}`, ...(libc ? ["program libc atexit handler"] : []), ...SHARED, "js handler"];
    assert.equal(lines(r.stdout), expected, how);
    assert.is(r.stderr, "", how);
    assert.is(r.code, code, how);
  }
});

Endings("--trace prints each handler as it ends: which, how long, how", () => {
  const r = runProgram("return", ["--trace", "--import", "tests/fixtures/wasi-js.mjs"]);
  const traced = lines(r.stderr);
  const expected = [/function \d+ of guest "program-c\.wasm"/, /function \d+ of guest "aslib"/, /function \d+ of guest "clib"/,
    /function \d+ of guest "program-c\.wasm"/, /<anonymous>/];
  assert.is(traced.length, expected.length, r.stderr);
  traced.forEach((line, i) => {
    assert.match(line, /^wasm-atexit trace: .* ran in \d+\.\d{3} ms$/);
    assert.match(line, expected[i]);
  });
});

Endings.run();

const Output = suite("W4: what every guest handler prints reaches a pipe or a file, unflushed");

// goodbye-c.wasm registers, oldest first: the Rust library's handler, its
// libc atexit() handler, the AssemblyScript library's, then two through
// wasm_atexit.h; none of them flushes. The --import module's is older still.
const GOODBYE = [
  "main",
  "C header handler says goodbye to everyone",
  "C header handler without an argument says goodbye",
  "aslib shared handler 3",
  "C atexit() handler says goodbye",
  // Rust's stdout keeps a partial line until the SDK flushes it.
  "Rust SDK handler says goodbye, on a partial line: js handler",
].join("\n") + "\n";

Output("the C header's API, the Rust and AssemblyScript SDKs, libc's atexit() and JS, newest first: return 0 and exit(0)", () => {
  const args = (how) => [join(root, "build", "cli.js"), "run", NATIVE["c program printing from every kind of handler"].prebuilt,
    "--link", `rustlib=${NATIVE["rust WASI library"].prebuilt}`, "--link", `aslib=${aslib}`, "--import", "tests/fixtures/wasi-js.mjs", "--", how];
  for (const how of ["return", "exit"]) {
    const piped = spawnSync(process.execPath, args(how), { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    assert.is(piped.stdout, GOODBYE, `${how}, stdout a pipe`);
    assert.is(piped.stderr, "", how);
    assert.is(piped.status, 0, how);
    const file = join(dir, `goodbye-${how}.txt`);
    const fd = openSync(file, "w");
    try {
      const written = spawnSync(process.execPath, args(how), { cwd: root, encoding: "utf8", stdio: ["ignore", fd, "pipe"] });
      assert.is(written.stderr, "", how);
      assert.is(written.status, 0, how);
    } finally {
      closeSync(fd);
    }
    assert.is(readFileSync(file, "utf8"), GOODBYE, `${how}, stdout a file`);
  }
});

Output.run();

const Mistakes = suite("the command's bad input: one line on stderr, no stack trace");

const mistake = (args, message, code) => {
  const r = command(args);
  assert.is(r.stderr, `wasm-atexit: ${message}\n`);
  assert.is(r.stdout, "");
  assert.is(r.code, code);
};

Mistakes("a missing file", () => mistake(["run", "nowhere.wasm"], "cannot read nowhere.wasm: no such file", 1));

Mistakes("a file that is not Wasm", () => {
  const r = command(["run", "package.json"]);
  assert.match(r.stderr, /^wasm-atexit: package\.json is not a WebAssembly module \(.*magic word.*\)\n$/);
  assert.is(r.code, 1);
});

Mistakes("a program needing an import nobody provides", () =>
  mistake(["run", program], "program-c.wasm needs the import clib.lib_register, which nothing provides", 1));

Mistakes("a library that is a command, not a reactor", async () => {
  const wabt = await (await import("wabt")).default();
  const bareCommand = join(dir, "command.wasm");
  writeFileSync(bareCommand, wabt.parseWat("c.wat", `(module (memory (export "memory") 1) (func (export "_start")))`).toBinary({}).buffer);
  mistake(
    ["run", program, "--link", `clib=${bareCommand}`],
    "clib is a command (it exports _start), not a library: link reactors, such as C built with -mexec-model=reactor",
    1,
  );
});

Mistakes("--link without name=", () => mistake(["run", program, "--link", clib], `--link takes name=lib.wasm, got "${clib}" (see wasm-atexit --help)`, 2));

Mistakes("--env without =", () => mistake(["run", program, "--env", "HOME"], '--env takes KEY=VALUE, got "HOME" (see wasm-atexit --help)', 2));

Mistakes("no command, an unknown command, an unknown option, stray arguments", () => {
  mistake([], "no command given (see wasm-atexit --help)", 2);
  mistake(["start", program], 'unknown command "start" (see wasm-atexit --help)', 2);
  assert.match(command(["run", program, "--fast"]).stderr, /^wasm-atexit: Unknown option '--fast'.*\(see wasm-atexit --help\)\n$/);
  mistake(["run", program, "exit"], 'unexpected "exit": the program\'s arguments go after -- (see wasm-atexit --help)', 2);
  // parseArgs' message for an option whose value starts with "-" spans three lines of its own.
  for (const value of ["-x", "--"]) {
    const r = command(["run", program, "--env", value, "x"]);
    assert.match(r.stderr, /^wasm-atexit: Option '--env' argument is ambiguous\. [^\n]*'--env=-XYZ'\. \(see wasm-atexit --help\)\n$/, value);
    assert.is(r.code, 2);
  }
});

Mistakes("--help and --version", () => {
  const help = command(["--help"]);
  assert.match(help.stdout, /^Usage: wasm-atexit run <program\.wasm>/);
  assert.is(help.code, 0);
  const version = command(["--version"]);
  assert.is(version.stdout.trim(), JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
});

Mistakes("--link with an empty name", () =>
  mistake(["run", program, "--link", `=${clib}`], `--link needs the import module's name before "=", got "=${clib}" (see wasm-atexit --help)`, 2));

Mistakes.run();

const Names = suite("names the user gives: any import module name, any environment variable");

Names("libraries linked as __proto__, constructor, toString, hasOwnProperty, valueOf and a non-ASCII name; --env keys likewise", async () => {
  const wabt = await (await import("wabt")).default();
  const wasm = (path, text) => writeFileSync(path, wabt.parseWat("names.wat", text).toBinary({}).buffer);
  // A WAT string as UTF-8 bytes, each escaped: wabt reads the text itself as Latin-1.
  const watString = (text) => `"${[...Buffer.from(text)].map((byte) => `\\${byte.toString(16).padStart(2, "0")}`).join("")}"`;
  const names = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "bibliothèque 図書館"];
  const work = mkdtempSync(join(tmpdir(), "wasm-atexit-names-"));
  try {
    // Library i answers 2^i; the program prints its environment and exits with the sum.
    const links = names.flatMap((name, i) => {
      wasm(join(work, `lib${i}.wasm`), `(module (func (export "f") (result i32) (i32.const ${1 << i})))`);
      return ["--link", `${name}=${join(work, `lib${i}.wasm`)}`];
    });
    wasm(join(work, "program.wasm"), `(module
      ${names.map((name, i) => `(import ${watString(name)} "f" (func $f${i} (result i32)))`).join("\n")}
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_get" (func $environ (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (drop (call $sizes (i32.const 0) (i32.const 4)))       ;; count at 0, bytes at 4
        (drop (call $environ (i32.const 64) (i32.const 1024))) ;; pointers at 64, strings at 1024
        (i32.store (i32.const 8) (i32.const 1024))            ;; one iovec at 8: the strings
        (i32.store (i32.const 12) (i32.load (i32.const 4)))
        (drop (call $write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))
        (call $exit ${names.map((_, i) => `(call $f${i})`).reduce((sum, call) => `(i32.add ${sum} ${call})`)})))`);
    const env = ["__proto__=a", "constructor=b", "toString=c", "hasOwnProperty=d"];
    const r = command(["run", join(work, "program.wasm"), ...links, ...env.flatMap((pair) => ["--env", pair])]);
    assert.is(r.stderr, "");
    assert.is(r.stdout, env.map((pair) => `${pair}\0`).join(""));
    assert.is(r.code, 2 ** names.length - 1, "every library answered");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

Names.run();

const Demo = suite("the demo (npm start)");

Demo("runs twice; each participant's counter advances by exactly one per run, in one LIFO order; the library is built once", () => {
  const data = join(dir, "demo-data");
  const library = join(root, "build", "demo", "counter-as.wasm");
  const run = () => runNode(join(root, "demo", "start.mjs"), [data], { cwd: root });
  const counters = () => ["js", "py", "as", "c"].map((who) => Number(readFileSync(join(data, `counter-${who}`), "utf8")));
  const first = run();
  assert.is(first.code, 0, first.stderr);
  assert.equal(counters(), [1, 1, 1, 1]);
  const built = statSync(library).mtimeMs;
  const second = run();
  assert.is(second.code, 0, second.stderr);
  assert.equal(counters(), [2, 2, 2, 2]);
  assert.is(statSync(library).mtimeMs, built, "the second run reuses the AssemblyScript library");
  const output = lines(second.stdout).filter((line) => !line.startsWith("(Pyodide loaded"));
  assert.equal(output.slice(output.indexOf("JavaScript counter is 2")), [
    "JavaScript counter is 2",
    "Python counter is 2",
    "C counter is 2; AssemblyScript counter is 2",
    "Goodbye, Donny, it was nice to meet you. (from C)",
    "C saved its counter, 2",
    "AssemblyScript saved its counter, 2",
    "You are now leaving the Python sector.",
    "Goodbye, Donny, it was nice to meet you. (from Python)",
    "Goodbye, Donny, it was nice to meet you. (from Python)",
    "Python saved its counter, 2",
    "Goodbye, Walter, it was nice to meet you. (from JavaScript)",
    "Goodbye, Donny, it was nice to meet you. (from JavaScript)",
    "JavaScript saved its counter, 2",
  ]);
});

Demo.after(() => rmSync(dir, { recursive: true, force: true }));
Demo.run();

// ---- unmodified C and C++, linked with libwasm-atexit (SPEC G8, W4, W5) -------

const Libc = suite("C and C++ linked with libwasm-atexit");
const cxx = { app: NATIVE["c++ program"].prebuilt, libdb: NATIVE["c++ library"].prebuilt };
const handlers = NATIVE["c program with atexit()"].prebuilt;

// Registered in this order: the JS module's, libdb's static destructor (at
// its _initialize), the app's static destructor, the app's atexit(), libdb's
// function-local static and its atexit(). They run newest first.
const CXX_ORDER = [
  "libdb atexit handler", "close libdb cache", "app atexit handler", "app static destructor", "close libdb", "js handler",
];

Libc("G8: C++ static and local-static destructors and atexit() of a program and a library run in one LIFO order with JS, stdout a pipe", () => {
  for (const [args, code] of [[[], 0], [["--", "3"], 3]]) {
    const r = command(["run", cxx.app, "--link", `libdb=${cxx.libdb}`, "--import", "tests/fixtures/wasi-js.mjs", ...args]);
    const out = lines(r.stdout);
    assert.equal(out.slice(-CXX_ORDER.length), CXX_ORDER, r.stdout + r.stderr);
    assert.ok(out.includes("open libdb") && out.includes("main done") && out.includes("open libdb cache"), r.stdout);
    assert.is(r.stderr, "");
    assert.is(r.code, code);
  }
});

Libc("G8, G9: a C++ reactor loaded with instantiate({ wasi }) runs its destructors and atexit() at the host's exit", () => {
  const r = runFixture("cxx-reactor.mjs", [cxx.libdb], { env: { ...process.env, NODE_NO_WARNINGS: "1" } });
  // "open libdb cache" waits in libdb's stdio buffer until its first handler flushes it.
  assert.equal(lines(r.stdout), [
    "open libdb", "db_init 0", "js registered last", "js handler", "open libdb cache", "libdb atexit handler", "close libdb cache", "close libdb",
  ]);
  assert.is(r.stderr, "");
  assert.is(r.code, 0);
});

Libc("W4: exit(7) in a C handler during the drain is an exit request: the rest run, the command ends with 7", () => {
  const r = command(["run", handlers, "--", "7"]);
  assert.equal(lines(r.stdout), ["main returns", "handler exits with 7", "older C handler"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 7);
});

Libc("R9: exit(256) with a failing handler does not reach the shell as 0", () => {
  const r = command(["run", handlers, "--import", "tests/fixtures/failing-handler.mjs", "--", "256"]);
  assert.match(r.stderr, /exit handler "failing" failed:\nError: js failure/);
  assert.is(r.code, 1);
});

Libc("W5: SIGTERM ends a looping program at once, though an --import module called handleSignals()", async () => {
  const child = spawn(process.execPath, [join(root, "build", "cli.js"), "run", handlers, "--import", "tests/fixtures/signals-import.mjs", "--", "loop"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  await new Promise((resolve) => child.stdout.on("data", (d) => (stdout += d) && stdout.includes("looping") && resolve()));
  const sent = Date.now();
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
  const [, signal] = await new Promise((resolve) => child.on("close", (...end) => resolve(end)));
  clearTimeout(killer);
  assert.is(signal, "SIGTERM");
  assert.ok(Date.now() - sent < 1000, "at once, not at SIGKILL");
});

Libc("W4: beside an --import module that logs, the program's 8 MiB reach a slow pipe whole", () => {
  const cli = `${JSON.stringify(process.execPath)} build/cli.js run ${handlers} --import tests/fixtures/signals-import.mjs -- flood`;
  const r = spawnSync("sh", ["-c", `${cli} | (sleep 1; wc -c)`], { cwd: root, encoding: "utf8" });
  assert.is(Number(r.stdout.trim()), 8 * 1024 * 1024 + "imported\n".length + "js handler\n".length, r.stderr);
});

Libc("the command's mistakes are one line each", () => {
  const cases = [
    [["run", program, "--link", `atexit=${clib}`], 1, 'wasm-atexit: cannot link a library as "atexit": that import module is wasm-atexit\'s own\n'],
    [["run", program, "--link", `wasi_snapshot_preview1=${clib}`], 1, 'wasm-atexit: cannot link a library as "wasi_snapshot_preview1": that import module is wasm-atexit\'s own\n'],
    [["run", program, "--import", "missing.mjs"], 1, "wasm-atexit: cannot import missing.mjs: no such file\n"],
    [["run", program, "--dir", "no/such/dir"], 1, "wasm-atexit: --dir no/such/dir: no such directory\n"],
    [["run", program, "--dir", "package.json"], 1, "wasm-atexit: --dir package.json: not a directory\n"],
    [["run", program, "--link", `env=${clib}`, "--link", `clib=${clib}`], 1, "wasm-atexit: program-c.wasm needs the import aslib.register_log, which nothing provides\n"],
  ];
  for (const [args, code, stderr] of cases) {
    const r = command(args);
    assert.is(r.stderr, stderr, args.join(" "));
    assert.is(r.code, code, args.join(" "));
  }
});

Libc("-h and -V exit 0; --dir host::guest maps a host path holding a colon", () => {
  assert.is(command(["-h"]).code, 0);
  assert.match(command(["-h"]).stdout, /^Usage: wasm-atexit run/);
  const version = command(["-V"]);
  assert.is(version.stdout.trim(), JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
  assert.is(version.code, 0);
  const colon = mkdtempSync(join(tmpdir(), "wasm-atexit-a:b-"));
  try {
    // The program writes /data/made.txt and reads it back: it must land in the folder with the colon.
    const r = command(["run", NATIVE["c file program"].prebuilt, "--dir", `${colon}::/data`, "--", "write", "/data/made.txt", "read", "/data/made.txt"]);
    assert.equal(lines(r.stdout), ["write /data/made.txt: ok", "read /data/made.txt: written"], r.stderr);
    assert.is(readFileSync(join(colon, "made.txt"), "utf8"), "written\n");
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, "");
  } finally {
    rmSync(colon, { recursive: true, force: true });
  }
});

Libc.run();

// ---- @assemblyscript/loader, imported only where it is needed (SPEC P4) -----

const Loader = suite("@assemblyscript/loader: imported only by the modules that need it");
const bare = mkdtempSync(join(tmpdir(), "wasm-atexit-no-loader-"));
// A copy of the package whose dependency is not installed: whatever imports the loader fails there.
const withoutLoader = copyPackage(bare, "wasm-atexit", "0.0.4", { loader: false });
const commandWithoutLoader = (args) => runNode(join(withoutLoader, "build", "cli.js"), args, { cwd: root });

Loader("the command links a C program without the loader; an AssemblyScript library, which imports env.abort, needs it", () => {
  const r = commandWithoutLoader(["run", handlers, "--", "7"]);
  assert.equal(lines(r.stdout), ["main returns", "handler exits with 7", "older C handler"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 7);
  const library = join(bare, "aslib.wasm");
  writeFileSync(library, buildAssemblyScript("wasi-lib", ["--exportStart", "_initialize"]));
  const withLibrary = commandWithoutLoader(["run", program, "--link", `clib=${clib}`, "--link", `aslib=${library}`]);
  assert.match(withLibrary.stderr, /^wasm-atexit: aslib /);
  assert.is(withLibrary.code, 1);
});

Loader("instantiate() starts importing the loader first: a bad option still rejects with its TypeError, and the failed import is no unhandled rejection", () => {
  const r = runFixture("no-loader.mjs", [withoutLoader]);
  assert.equal(lines(r.stdout), ['TypeError: wasm-atexit: createGuest: name must be a non-empty string, got "" (a string)']);
  assert.is(r.stderr, "");
  assert.is(r.code, 0);
});

Loader.after(() => rmSync(bare, { recursive: true, force: true }));
Loader.run();
