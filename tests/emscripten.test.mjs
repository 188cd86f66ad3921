// Emscripten modules on the shared stack (SPEC G11): PGlite through
// tests/fixtures/pglite.mjs, and the three emcc builds of
// tests/guests/emscripten/exits.cpp through tests/fixtures/emscripten.mjs.
// Each program is a child process with stdout a pipe. PGlite takes about a
// second to open, so its runs go two at a time, before the assertions.
import { suite, test } from "./suite.mjs";
import * as assert from "uvu/assert";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EMSCRIPTEN, buildEmscripten, hasTool } from "./guests/build.mjs";
import { copyPackage, lines, runFixture, signalFixture, spawnFixture, testIf, twoAtATime } from "./helpers.mjs";

const work = mkdtempSync(join(tmpdir(), "wasm-atexit-emscripten-"));
test.after(() => rmSync(work, { recursive: true, force: true }));

// PGlite: each scenario writes 1000 rows into a folder of its own, then a
// second program reopens the folder.
const PGLITE = ["natural", "process-exit", "uncaught", "close", "natural:none"];
const folder = (end) => join(work, `pglite-${end.replace(":", "-")}`);
const template = join(work, "pglite-template");
await spawnFixture("pglite.mjs", ["init", template]).ended;
for (const end of [...PGLITE, "signal"]) cpSync(template, folder(end), { recursive: true });
const writes = await twoAtATime(PGLITE.map((end) => () => spawnFixture("pglite.mjs", [`write:${end}`, folder(end)]).ended));
const signalled = await signalFixture("pglite.mjs", "write:signal", { grace: 20_000, args: [folder("signal")] });
const ends = [...PGLITE, "signal"];
const written = Object.fromEntries(ends.map((end, i) => [end, i < PGLITE.length ? writes[i] : signalled]));
const reads = Object.fromEntries(
  (await twoAtATime(ends.map((end) => () => spawnFixture("pglite.mjs", ["read", folder(end)]).ended))).map((r, i) => [ends[i], r]),
);

const KEEPS = 'wasm-atexit trace: Emscripten module "pglite" keeps its exit list (_pgl_run_atexit_funcs), a flush of C stdio (_fflush), FS.quit() for the JS-side buffers';
/** The lines of a run that are ours: JS handlers, and trace lines of the PGlite guest. */
const ours = (stdout) => lines(stdout).filter((line) => line.startsWith("js:") || line.includes('"pglite"')).map((line) => line.replace(/ran in [\d.]+ ms/, "ran"));
const CLEAN_RUN = [KEEPS, "js: registered after the link", 'wasm-atexit trace: function 1 of guest "pglite" ran', "js: registered before the link"];

const PGlite = suite("PGlite");

PGlite("unlinked, as measured in issue 19: the rows are gone and the reopen recovers", () => {
  assert.match(reads["natural:none"].stdout, 'rows: relation "t" does not exist');
  assert.match(reads["natural:none"].stderr, "database system was not properly shut down; automatic recovery in progress");
});

for (const [end, code] of [["natural", 0], ["process-exit", 0], ["uncaught", 1], ["signal", null]]) {
  PGlite(`linked, ${end}: its exit list runs between the JS handlers, in LIFO order; 1000 rows kept, the reopen clean`, () => {
    const w = written[end];
    assert.equal(ours(w.stdout), CLEAN_RUN, w.stderr);
    assert.is(w.code, code);
    if (end === "signal") assert.is(w.signal, "SIGTERM");
    if (end === "uncaught") assert.match(w.stderr, "Error: boom");
    assert.is(lines(reads[end].stdout).at(-1), "rows: 1000", reads[end].stderr);
    assert.not.match(reads[end].stderr, "not properly shut down");
    assert.match(reads[end].stderr, "database system was shut down at");
  });
}

PGlite("pg.close() before the end: the link sees it closed, and runs nothing again", () => {
  const w = written.close;
  assert.equal(ours(w.stdout), [
    KEEPS,
    "js: registered after the link",
    'wasm-atexit trace: Emscripten module "pglite": its exit work is skipped: it exited or was closed already',
    'wasm-atexit trace: function 1 of guest "pglite" ran',
    "js: registered before the link",
  ]);
  assert.is(w.code, 0);
  assert.is(lines(reads.close.stdout).at(-1), "rows: 1000");
  assert.not.match(reads.close.stderr, "not properly shut down");
});

PGlite.run();

// The emcc builds. JS registers "before" before the module is created,
// "between" between its static destructor and its atexit() handler, "after"
// last. The atexit() handler prints without a newline: in its own line only
// if the output is flushed after each handler.
const run = (build, how, end, options) => runFixture("emscripten.mjs", [build, how, ...(end ? [end] : [])], options);
const PARTIAL = "c: partial stdout linec: atexit handler";

const Builds = suite("emcc builds");

Builds("default build: nothing of the module's exit reaches the pipe; linked, FS.quit() flushes its partial stderr line", () => {
  const bare = run("emcc-default", "none");
  assert.equal(lines(bare.stdout), ["js: after", "js: between", "js: before"]);
  assert.is(bare.stderr, "");
  const linked = run("emcc-default", "link");
  assert.equal(lines(linked.stdout), ["js: after", "js: between", "js: before"]);
  assert.is(linked.stderr, "c: partial stderr line\n");
  assert.is(linked.code, 0);
});

Builds("-sEXIT_RUNTIME=1: nothing without the link; linked, its C exit list, stdio and FS.quit() run as one block at the link's place", () => {
  assert.equal(lines(run("emcc-exit-runtime", "none").stdout), ["js: after", "js: between", "js: before"]);
  const r = run("emcc-exit-runtime", "link");
  assert.equal(lines(r.stdout), ["js: after", "js: between", `${PARTIAL}c++: static destructor`, "js: before"]);
  assert.is(r.stderr, "c: partial stderr line\n");
  assert.is(r.code, 0);
});

Builds("-lwasm-atexit, created by emscriptenGuest: each handler its own registration, in LIFO order with JS's, stdout and stderr flushed", () => {
  const r = run("emcc-linked", "guest");
  assert.equal(lines(r.stdout), ["js: after", PARTIAL, "js: between", "c++: static destructor", "js: before"]);
  assert.is(r.stderr, "c: partial stderr line\n");
  assert.is(r.code, 0);
});

Builds("-lwasm-atexit: exit(5) in an atexit() handler is an exit request: the rest run, the code is 5", () => {
  const r = run("emcc-linked", "guest", "exit-in-handler");
  assert.equal(lines(r.stdout), ["js: after", PARTIAL, "js: between", "c++: static destructor", "js: before"]);
  assert.is(r.stderr, "c: partial stderr line\n");
  assert.is(r.code, 5);
});

Builds("-lwasm-atexit: what the module prints after its last handler is flushed by its exit work, before older owners' handlers", () => {
  const r = run("emcc-linked", "guest", "late-output");
  assert.equal(lines(r.stdout), ["js: after", PARTIAL, "js: between", "c++: static destructor", "c: partial stdout line", "js: before"]);
  assert.is(r.stderr, "c: partial stderr line\nc: partial stderr line\n");
  assert.is(r.code, 0);
});

Builds("-lwasm-atexit: dispose(guest) runs the module's handlers now, and not again at exit", () => {
  const r = run("emcc-linked", "guest", "dispose");
  assert.equal(lines(r.stdout), [PARTIAL, "c++: static destructor", "js: disposed", "js: after", "js: between", "js: before"]);
  assert.is(r.code, 0);
});

Builds("-lwasm-atexit: over the guest's quota, atexit() returns non-zero and the handler is not registered", () => {
  const r = run("emcc-linked", "guest", "quota");
  assert.equal(lines(r.stdout), ["js: atexit() returned -1", "js: after", "js: between", "c: partial stdout linec++: static destructor", "js: before"]);
  assert.is(r.code, 0);
});

Builds("a module that aborted is not called into at exit: none of its handlers, nor its exit work, runs", () => {
  for (const [build, how] of [["emcc-linked", "guest"], ["emcc-exit-runtime", "link"]]) {
    const r = run(build, how, "aborted");
    assert.equal(lines(r.stdout), ["js: the module aborted: Aborted()", "js: after", "js: between", "js: before"]);
    assert.is(r.stderr, "Aborted()\n");
    assert.is(r.code, 0);
  }
});

Builds("R12: the module's handlers run at process.exit() and at an uncaught error", () => {
  const exited = run("emcc-linked", "guest", "process-exit");
  assert.equal(lines(exited.stdout), ["js: after", PARTIAL, "js: between", "c++: static destructor", "js: before"]);
  assert.is(exited.code, 3);
  const uncaught = run("emcc-exit-runtime", "link", "uncaught");
  assert.equal(lines(uncaught.stdout), ["js: after", "js: between", `${PARTIAL}c++: static destructor`, "js: before"]);
  assert.match(uncaught.stderr, "Error: boom");
  assert.is(uncaught.code, 1);
});

Builds("beside signal-exit, a C guest, Python and a second copy of the package: SIGTERM drains every owner in one LIFO order", async () => {
  const copy = copyPackage(work, "second-copy", "9.9.9");
  const r = await signalFixture("emscripten.mjs", "emcc-linked", { grace: 20_000, args: ["guest", "neighbours", copy] });
  assert.equal(lines(r.stdout), [
    "ready",
    `second module: ${PARTIAL}c++: static destructor`,
    "python: at SIGTERM",
    "c: 1",
    "js: after",
    PARTIAL,
    "js: between",
    "c++: static destructor",
    "js: before",
    "signal-exit callback null SIGTERM",
  ]);
  assert.is(r.stderr, "c: partial stderr line\nc: partial stderr line\n");
  assert.is(r.signal, "SIGTERM");
});

Builds("WASM_ATEXIT_TRACE=1 says what each build keeps and drops", () => {
  const trace = (build, how) => run(build, how, undefined, { env: { ...process.env, WASM_ATEXIT_TRACE: "1" } }).stderr.split("\n")[0];
  assert.is(
    trace("emcc-default", "link"),
    'wasm-atexit trace: Emscripten module "emcc-default" keeps FS.quit() for the JS-side buffers; ' +
      "atexit handlers are dropped by this build: relink with -lwasm-atexit, or -sEXIT_RUNTIME=1; " +
      "C stdio is not flushed: export fflush (-sEXPORTED_FUNCTIONS=_fflush)",
  );
  assert.is(
    trace("emcc-exit-runtime", "link"),
    'wasm-atexit trace: Emscripten module "emcc-exit-runtime" keeps its exit list (___funcs_on_exit), a flush of C stdio (___stdio_exit), FS.quit() for the JS-side buffers',
  );
  assert.is(
    trace("emcc-linked", "guest"),
    'wasm-atexit trace: Emscripten module "emcc-linked" keeps each atexit handler on the shared stack, a flush of C stdio (_fflush), FS.quit() for the JS-side buffers',
  );
});

Builds("bad input is refused with what was wrong", async () => {
  const { emscriptenGuest, linkEmscripten } = await import("wasm-atexit/emscripten");
  const refused = (fn, message) => assert.throws(fn, (err) => err instanceof TypeError && err.message === message);
  refused(() => linkEmscripten(null), "wasm-atexit: linkEmscripten: Module must be a created Emscripten module (PGlite's pg.Module, or what a factory resolves to), got null");
  refused(() => linkEmscripten(undefined), "wasm-atexit: linkEmscripten: Module must be a created Emscripten module (PGlite's pg.Module, or what a factory resolves to), got undefined");
  refused(() => linkEmscripten({}), "wasm-atexit: linkEmscripten: Module must be a created Emscripten module (PGlite's pg.Module, or what a factory resolves to), got an object with none of _pgl_run_atexit_funcs, ___funcs_on_exit, _fflush, ___stdio_exit or FS: build it with -sEXPORTED_RUNTIME_METHODS=FS");
  refused(() => emscriptenGuest("db.wasm"), "wasm-atexit: emscriptenGuest: wasm must be the module's .wasm bytes or a WebAssembly.Module, got a string");
  let quits = 0;
  const Module = { FS: { quit: () => quits++ } };
  const guest = linkEmscripten(Module, { name: "twice" });
  assert.throws(() => linkEmscripten(Module), (err) => err.message === 'wasm-atexit: linkEmscripten: this module is already linked, as guest "twice"');
  const { guest: made, moduleArg } = emscriptenGuest(new Uint8Array(8), { name: "made" });
  assert.throws(() => linkEmscripten(moduleArg), (err) => err.message === 'wasm-atexit: linkEmscripten: this module is already linked, as guest "made"');
  const { dispose } = await import("wasm-atexit");
  dispose(guest);
  dispose(guest);
  assert.is(quits, 1);
  dispose(made, { run: false });
});

const REQUIRED = process.env.WASM_ATEXIT_REQUIRE_TOOLCHAINS === "1";
const withEmcc = testIf(Builds, hasTool("em++"), REQUIRED, "no em++ here: the committed Emscripten modules are used as they are");
for (const name of Object.keys(EMSCRIPTEN)) {
  withEmcc(`tests/guests/prebuilt/${name}.cjs and .wasm are built from tests/guests/emscripten/exits.cpp`, () => {
    const built = buildEmscripten(name, mkdtempSync(join(work, "build-")));
    const prebuilt = (ext) => readFileSync(new URL(`./guests/prebuilt/${name}.${ext}`, import.meta.url));
    assert.ok(built.wasm.equals(prebuilt("wasm")) && built.glue.equals(prebuilt("cjs")), "rebuild them: node tests/guests/build.mjs");
  });
}

Builds.run();

test("examples/pglite.mjs: Ctrl-C (SIGINT) ends it with its visit kept, twice over", async () => {
  const folder = join(work, "example");
  cpSync(template, folder, { recursive: true });
  const interrupt = () => signalFixture("../../examples/pglite.mjs", folder, { signal: "SIGINT", grace: 20_000 });
  for (const visit of [1, 2]) {
    const r = await interrupt();
    assert.equal(lines(r.stdout), [`visit ${visit}; ready: press Ctrl-C to end`, "PGlite is shut down: the next run opens it cleanly"]);
    assert.is(r.signal, "SIGINT");
  }
});

test.run();
