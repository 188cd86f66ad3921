// The package as a user installs it: `npm pack`, the tarball installed into a
// fresh project, handlers run at exit from ESM and CommonJS, the command
// through the official WASI test suite, and the shipped types checked by
// tsc, including argument inference from `fn`.
import { test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { lines } from "./helpers.mjs";
import { passes, suiteTests } from "./wasi-suite.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-pack-"));
const project = join(dir, "project");
test.after(() => rmSync(dir, { recursive: true, force: true }));

const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
let packed;

test.before(() => {
  // The build is already there (npm test runs after prepare); skip rebuilding.
  [packed] = JSON.parse(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", dir], root));
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user", private: true, type: "module" }));
  npm(["install", "--no-audit", "--no-fund", "--prefer-offline", join(dir, packed.filename)], project);
});

test("the tarball ships the bundled bindings, their types, the licences, each file once; not sources or tests", () => {
  const files = packed.files.map((f) => f.path).sort();
  // The core's bytes are inlined in build/index.js, not shipped beside it.
  assert.not.ok(files.includes("build/core.wasm"));
  assert.ok(files.includes("LICENSE"));
  const meta = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  // Installed beside the package under its own licence, not bundled into it.
  assert.ok(meta.dependencies["@assemblyscript/loader"]);
  assert.not.match(readFileSync(join(root, "build", "index.js"), "utf8"), "__getString");
  for (const field of ["repository", "bugs", "homepage"]) assert.ok(meta[field], field);
  assert.ok(files.includes("build/index.js"));
  assert.ok(files.includes("build/cli.js"));
  assert.ok(files.includes("build/pyodide.js"));
  assert.ok(files.includes("build/emscripten.js"));
  assert.ok(files.includes("build/emscripten.d.ts"));
  assert.ok(files.includes("build/index.d.ts"));
  for (const sdk of ["include/wasm_atexit.h", "lib/wasm32-wasi/libwasm-atexit.a", "sdk/assemblyscript/index.ts", "sdk/rust/wasm_atexit.rs"]) {
    assert.ok(files.includes(sdk), sdk);
  }
  assert.equal(files.filter((f) => /^(assembly|bindings|tests|bench)\//.test(f)), []);
  assert.equal(files.filter((f) => f.endsWith(".map") || f.endsWith(".wat")), []);
  assert.equal(packed.entryCount, files.length);
  assert.is(new Set(files).size, files.length, "each file once");
  assert.ok(packed.size <= 64 * 1024, `the tarball is ${packed.size} bytes; SPEC P5 allows 65536`);
  assert.equal(Object.keys(meta.dependencies), ["@assemblyscript/loader"], "the one dependency");
});

test("the shipped modules import only shipped modules: the runner imported when a program first runs among them", () => {
  const files = packed.files.map((f) => f.path);
  const unshipped = [];
  for (const file of files.filter((f) => f.endsWith(".js"))) {
    const text = readFileSync(join(project, "node_modules", "wasm-atexit", file), "utf8");
    for (const [, specifier] of text.matchAll(/(?:\bfrom|\bimport\s*\(?)\s*"(\.\.?\/[^"]+)"/g)) {
      if (!files.includes(posix.join(posix.dirname(file), specifier))) unshipped.push(`${file} imports ${specifier}`);
    }
  }
  assert.equal(unshipped, []);
});

test("an installed copy runs handlers at exit, from ESM and from require()", () => {
  writeFileSync(
    join(project, "esm.mjs"),
    `import atexit from "wasm-atexit";
     atexit.register((who) => console.log("goodbye from " + who), "esm");
     atexit.register(() => { throw new Error("cleanup failed"); });`,
  );
  writeFileSync(
    join(project, "cjs.cjs"),
    `const { register, onExit } = require("wasm-atexit");
     register((who) => console.log("goodbye from " + who), "cjs");
     onExit((code) => console.log("exit code " + code));
     process.exit(4);`,
  );
  const esm = spawnSync(process.execPath, ["esm.mjs"], { cwd: project, encoding: "utf8" });
  assert.equal(lines(esm.stdout), ["goodbye from esm"]);
  assert.match(esm.stderr, "exit handler <anonymous> failed:\nError: cleanup failed");
  assert.is(esm.status, 1);
  const cjs = spawnSync(process.execPath, ["cjs.cjs"], { cwd: project, encoding: "utf8" });
  assert.equal(lines(cjs.stdout), ["exit code 4", "goodbye from cjs"]);
  assert.is(cjs.status, 4);
});

test("an uncaught TypeError from the API costs a few short lines of stderr", () => {
  writeFileSync(join(project, "mistake.mjs"), `import atexit from "wasm-atexit";\natexit.register(42);\n`);
  const r = spawnSync(process.execPath, ["mistake.mjs"], { cwd: project, encoding: "utf8" });
  assert.is(r.status, 1);
  assert.match(r.stderr, "TypeError: wasm-atexit: register: fn must be a function, got 42 (a number)");
  assert.ok(r.stderr.length < 1500, `${r.stderr.length} bytes of stderr`);
  const longest = Math.max(...r.stderr.split("\n").map((line) => line.length));
  assert.ok(longest <= 200, `a line of ${longest} characters`);
});

test("an AssemblyScript guest compiles against the installed SDK and runs its handler at exit", () => {
  writeFileSync(
    join(project, "guest.ts"),
    `import { atExit } from "wasm-atexit/sdk/assemblyscript";
     @external("env", "log") declare function log(value: i32): void;
     function goodbye(value: i32): void { log(value); }
     atExit(goodbye, 42);`,
  );
  execFileSync(process.execPath, [
    join(root, "node_modules/assemblyscript/bin/asc.js"), "guest.ts", "--exportTable", "--exportStart", "_initialize", "-o", "guest.wasm",
  ], { cwd: project, stdio: "pipe" });
  writeFileSync(
    join(project, "host.mjs"),
    `import { readFileSync } from "node:fs";
     import { instantiate, register } from "wasm-atexit";
     register(() => console.log("js"));
     await instantiate(readFileSync("guest.wasm"), { env: { log: (v) => console.log("guest " + v) } }, { name: "guest" });`,
  );
  const host = spawnSync(process.execPath, ["host.mjs"], { cwd: project, encoding: "utf8" });
  assert.is(host.stderr, "");
  assert.equal(lines(host.stdout), ["guest 42", "js"]);
});

test("wasm-atexit/pyodide of an installed copy runs Python's handlers among JavaScript's", () => {
  // The user installs pyodide beside it; the repository's copy stands in.
  symlinkSync(join(root, "node_modules", "pyodide"), join(project, "node_modules", "pyodide"));
  writeFileSync(
    join(project, "python.mjs"),
    `import { loadPyodide } from "pyodide";
     import { register } from "wasm-atexit";
     import { linkPyodide } from "wasm-atexit/pyodide";
     register(() => console.log("js"));
     const pyodide = await loadPyodide();
     linkPyodide(pyodide);
     pyodide.runPython("import atexit; atexit.register(print, 'python')");`,
  );
  const run = spawnSync(process.execPath, ["python.mjs"], { cwd: project, encoding: "utf8" });
  assert.is(run.stderr, "");
  assert.equal(lines(run.stdout), ["python", "js"]);
});

test("wasm-atexit/emscripten of an installed copy runs a -lwasm-atexit module's handlers among JavaScript's", () => {
  const prebuilt = join(root, "tests", "guests", "prebuilt", "emcc-linked");
  writeFileSync(
    join(project, "emscripten.mjs"),
    `import { readFileSync } from "node:fs";
     import { createRequire } from "node:module";
     import { register } from "wasm-atexit";
     import { emscriptenGuest } from "wasm-atexit/emscripten";
     register(() => console.log("js"));
     const { moduleArg } = emscriptenGuest(readFileSync(${JSON.stringify(`${prebuilt}.wasm`)}), { name: "mod" });
     const Module = await createRequire(import.meta.url)(${JSON.stringify(`${prebuilt}.cjs`)})(moduleArg);
     Module._add_handler();`,
  );
  const run = spawnSync(process.execPath, ["emscripten.mjs"], { cwd: project, encoding: "utf8" });
  assert.is(run.stderr, "");
  assert.equal(lines(run.stdout), ["c: atexit handler", "js"]);
});

test("the installed command runs", () => {
  const version = spawnSync(join(project, "node_modules", ".bin", "wasm-atexit"), ["--version"], { cwd: project, encoding: "utf8" });
  assert.is(version.stderr, "");
  assert.is(version.stdout.trim(), JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
});

test("the installed command passes the official WASI test suite, all 72", () => {
  const command = join(project, "node_modules", "wasm-atexit", "build", "cli.js");
  const failed = suiteTests().filter((t) => !passes(t, command)).map((t) => t.name);
  assert.equal(failed, []);
});

test("the shipped types infer a handler's arguments from fn", () => {
  writeFileSync(
    join(project, "use.ts"),
    `import atexit, { onExit, register, type Remover } from "wasm-atexit";
     function goodbye(name: string, times: number) { return name.repeat(times); }
     const same: typeof goodbye = register(goodbye, "Donny", 2);
     atexit.register(({ name }: { name: string }) => name, { name: "Walter" });
     // @ts-expect-error the second argument must be a number
     register(goodbye, "Donny", "nice");
     // @ts-expect-error an argument is missing
     register(goodbye, "Donny");
     // @ts-expect-error not a function
     register(42);
     const remove: Remover = onExit((code: number, signal: string | null) => {});
     remove[Symbol.dispose]();
     export { same };`,
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: "nodenext", target: "es2022", lib: ["es2022", "esnext.disposable"], types: [] },
      files: ["use.ts"],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", project], { encoding: "utf8" });
  assert.is(tsc.stdout + tsc.stderr, "");
  assert.is(tsc.status, 0);
});

test("the shipped types stand alone: strict projects without @types/node, for the browser and for Node; instantiate is typed", () => {
  writeFileSync(
    join(project, "standalone.ts"),
    `import atexit, { instantiate, onExit, type Remover } from "wasm-atexit";
     import { linkPyodide } from "wasm-atexit/pyodide";
     import { emscriptenGuest, linkEmscripten } from "wasm-atexit/emscripten";
     const remove: Remover = onExit(() => {});
     remove();
     const { exports } = await instantiate<{ add(a: number, b: number): number }>(new Uint8Array(8));
     const sum: number = exports.add(1, 2);
     // @ts-expect-error not a Wasm source
     instantiate({ whatever: true });
     // @ts-expect-error not a Wasm source
     instantiate("guest.wasm");
     const { moduleArg } = emscriptenGuest(new Uint8Array(8), { name: "mod" }, { print: (text: string) => {} });
     const guest = linkEmscripten({ _fflush: (stream: number) => 0 }, { quota: 4 });
     export { atexit, linkPyodide, sum, moduleArg, guest };`,
  );
  for (const [kind, lib] of [["browser", ["es2022", "dom"]], ["node without @types/node", ["es2022"]]]) {
    const config = join(project, `tsconfig.${kind.split(" ")[0]}.json`);
    writeFileSync(config, JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: "esnext", moduleResolution: "bundler", target: "es2022", lib, types: [], skipLibCheck: false },
      files: ["standalone.ts"],
    }));
    const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", config], { encoding: "utf8" });
    assert.is(tsc.stdout + tsc.stderr, "", kind);
    assert.is(tsc.status, 0, kind);
  }
});

test.run();
