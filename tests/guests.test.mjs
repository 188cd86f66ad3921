// Wasm guests share the stack (SPEC G1–G7): real guests in AssemblyScript
// (compiled here by the project's asc), C and Rust (tests/guests/prebuilt,
// see tests/guests/build.mjs), and hand-written WAT for exact ABI cases.
import { suite } from "./suite.mjs";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LIBRARY, buildLibrary } from "../scripts/build-lib.mjs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import wabtInit from "wabt";
import atexit, { DEFAULT_QUOTA, errorCodes as E } from "wasm-atexit";
import { NATIVE, buildAssemblyScript, buildNative, hasTool, prebuilt } from "./guests/build.mjs";
import { failuresOf, lines, runFixture, testIf } from "./helpers.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

const wabt = await wabtInit();
const wat = (text) => wabt.parseWat("guest.wat", text).toBinary({}).buffer;

const binaries = {
  assemblyscript: buildAssemblyScript("logger"),
  c: prebuilt("c"),
  rust: prebuilt("rust"),
};

let logged = [];
const logTo = (name) => ({ env: { log: (value) => logged.push(`${name} ${value}`) } });
const load = async (language, options = {}) => {
  const name = options.name ?? language;
  const { instance, guest } = await atexit.instantiate(binaries[language], logTo(name), { name, ...options });
  return { ...instance.exports, guest };
};

/** runExitHandlers, returning [what it threw, stderr reports]. */
const drain = () => failuresOf(atexit.runExitHandlers);

function fresh(name) {
  const s = suite(name);
  s.before.each(() => {
    atexit.clear();
    logged = [];
  });
  s.after(() => atexit.clear());
  return s;
}

// ---- each language ------------------------------------------------------------

for (const language of Object.keys(binaries)) {
  const Language = fresh(`${language} guest`);

  Language("registers with and without an argument; runs LIFO with JS, arguments intact", async () => {
    const g = await load(language);
    atexit.register(() => logged.push("js"));
    const handle = g.register_log(-123456);
    assert.ok(handle > 0, `handle ${handle}`);
    assert.ok(g.register_log_no_arg() > 0);
    assert.ok(g.register_log(2147483647) > 0);
    assert.is(g.pending(), 3);
    assert.is(atexit.count(), 4);
    drain();
    assert.equal(logged, [`${language} 2147483647`, `${language} 0`, `${language} -123456`, "js"]);
    assert.is(g.pending(), 0);
  });

  Language("unregisters its own handle once (G2)", async () => {
    const g = await load(language);
    const handle = g.register_log(1);
    g.register_log(2);
    assert.is(g.cancel(handle), E.OK);
    assert.is(g.cancel(handle), E.NOT_PENDING);
    drain();
    assert.equal(logged, [`${language} 2`]);
  });

  Language("a failing handler is reported by guest and function index; the drain goes on (G4)", async () => {
    const g = await load(language);
    g.register_log(1);
    g.register_failing();
    atexit.register(() => logged.push("js"));
    const [thrown, reports] = drain();
    assert.equal(logged, ["js", `${language} 1`]);
    assert.is(reports.length, 1);
    assert.match(reports[0], new RegExp(`^wasm-atexit: exit handler function \\d+ of guest "${language}" failed:\\n`));
    assert.match(reports[0], language === "assemblyscript" ? "handler failed on purpose" : "RuntimeError: unreachable");
    assert.ok(thrown instanceof Error);
  });

  Language("a handler registering during the drain runs in it (R6)", async () => {
    const g = await load(language);
    g.register_log(1);
    g.register_registering(10);
    drain();
    assert.equal(logged, [`${language} 10`, `${language} 11`, `${language} 1`]);
    assert.is(atexit.count(), 0);
  });

  Language.run();
}

// ---- the ABI's error codes, with a hand-written guest -----------------------

const ABI_GUEST = wat(`
  (module
    (import "atexit" "register" (func $register (param i32 i32) (result i32)))
    (import "atexit" "unregister" (func $unregister (param i32) (result i32)))
    (import "atexit" "count" (func $count (result i32)))
    (import "env" "log" (func $log (param i32)))
    (table (export "table") 4 funcref)
    (elem (i32.const 1) $log $returns_value $two_params)
    (func $returns_value (param i32) (result i32) (i32.const 0))
    (func $two_params (param i32 i32))
    (func (export "register") (param i32 i32) (result i32) (call $register (local.get 0) (local.get 1)))
    (func (export "unregister") (param i32) (result i32) (call $unregister (local.get 0)))
    (func (export "count") (result i32) (call $count)))`);
const LOG = 1; // the table index of $log, an (i32) -> () function
const loadAbiGuest = async (name = "abi", options = {}) => {
  const { instance, guest } = await atexit.instantiate(ABI_GUEST, logTo(name), { name, ...options });
  return { ...instance.exports, guest };
};

const Abi = fresh("the atexit ABI");

Abi("a table index out of range, or null, is refused with BAD_INDEX", async () => {
  const g = await loadAbiGuest();
  for (const index of [0, 4, 1000, -1, -2147483648]) assert.is(g.register(index, 0), E.BAD_INDEX, `index ${index}`);
  assert.is(atexit.count(), 0);
});

Abi("a function of another signature is refused with BAD_SIGNATURE, not trapped on at exit", async () => {
  const g = await loadAbiGuest();
  assert.is(g.register(2, 0), E.BAD_SIGNATURE);
  assert.is(g.register(3, 0), E.BAD_SIGNATURE);
  assert.is(atexit.count(), 0);
});

Abi("a guest removes only its own handles (G3)", async () => {
  const a = await loadAbiGuest("a");
  const b = await loadAbiGuest("b");
  const mine = a.register(LOG, 1);
  const theirs = b.register(LOG, 2);
  const onExitRemove = atexit.onExit(() => logged.push("js"));
  assert.is(a.unregister(theirs), E.NOT_PENDING, "another owner's handle answers as a missing one");
  assert.is(a.count(), 1);
  assert.is(b.count(), 1);
  for (const handle of [0, -1, 2147483647, mine + 1000]) assert.is(a.unregister(handle), E.NOT_PENDING, `handle ${handle}`);
  // The record of a.register is a guest owner's or JS's neighbour; JS's own handles are not a guest's either.
  assert.is(atexit.count(), 3);
  onExitRemove();
  drain();
  assert.equal(logged, ["b 2", "a 1"]);
});

Abi("a guest cannot remove JavaScript's registrations", async () => {
  const g = await loadAbiGuest();
  atexit.register(() => logged.push("js"));
  const guestHandle = g.register(LOG, 1);
  // Handles are small integers: try every one around the guest's.
  for (let handle = 1; handle < guestHandle + 8; handle++) if (handle !== guestHandle) g.unregister(handle);
  assert.is(atexit.count(), 2);
  drain();
  assert.equal(logged, ["abi 1", "js"]);
});

Abi("over its quota a guest gets QUOTA; the default quota is DEFAULT_QUOTA (G6)", async () => {
  const g = await loadAbiGuest("small", { quota: 3 });
  const handles = [1, 2, 3].map((v) => g.register(LOG, v));
  assert.ok(handles.every((h) => h > 0));
  assert.is(g.register(LOG, 4), E.QUOTA);
  assert.is(g.unregister(handles[0]), E.OK);
  assert.ok(g.register(LOG, 5) > 0);
  assert.is(g.count(), 3);
  const big = await loadAbiGuest("big");
  assert.is(big.guest.quota, DEFAULT_QUOTA);
});

Abi("registering before the table is attached gives NO_TABLE; instantiate names the flag a tableless module lacks", async () => {
  const guest = atexit.createGuest({ name: "manual" });
  const { instance } = await WebAssembly.instantiate(ABI_GUEST, { ...logTo("manual"), ...guest.imports });
  assert.is(instance.exports.register(LOG, 1), E.NO_TABLE);
  guest.attach(instance);
  assert.ok(instance.exports.register(LOG, 1) > 0);
  const tableless = wat(`(module (import "atexit" "register" (func $r (param i32 i32) (result i32)))
    (func (export "register") (param i32 i32) (result i32) (call $r (local.get 0) (local.get 1))))`);
  const before = atexit.count();
  await assertRejects(atexit.instantiate(tableless, {}, { name: "tableless" }),
    'wasm-atexit: instantiate: guest "tableless" imports atexit.register but exports no function table: ' +
      "link it with -Wl,--export-table (clang) or -C link-arg=--export-table (rustc), or build it with --exportTable (AssemblyScript)");
  assert.is(atexit.count(), before);
});

/** Asserts that `promise` rejects with a TypeError whose message is `message`. */
async function assertRejects(promise, message) {
  const err = await promise.then(() => undefined, (e) => e);
  assert.ok(err instanceof TypeError, `rejected with ${err}`);
  assert.is(err.message, message);
}

Abi("guest options are checked", () => {
  const throwsWith = (options, type, message) =>
    assert.throws(() => atexit.createGuest(options), (err) => err instanceof type && err.message === message);
  throwsWith({ quota: 0 }, RangeError, "wasm-atexit: createGuest: quota must be from 1 to 268435456, got 0");
  throwsWith({ quota: 1.5 }, TypeError, "wasm-atexit: createGuest: quota must be an integer, got 1.5 (a number)");
  throwsWith({ name: "" }, TypeError, 'wasm-atexit: createGuest: name must be a non-empty string, got "" (a string)');
  throwsWith({ name: 7 }, TypeError, "wasm-atexit: createGuest: name must be a non-empty string, got 7 (a number)");
});

Abi("fuzz: random i32 values into every ABI function never crash, and every answer is documented", async () => {
  const a = await loadAbiGuest("fuzz-a", { quota: 50 });
  const b = await loadAbiGuest("fuzz-b");
  atexit.register(() => logged.push("js survives"));
  b.register(LOG, 42);
  const registerCodes = new Set([E.BAD_INDEX, E.BAD_SIGNATURE, E.QUOTA]);
  const unregisterCodes = new Set([E.OK, E.NOT_PENDING]);
  const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const call = fc.oneof(
    fc.tuple(fc.constant("register"), fc.oneof(i32, fc.integer({ min: -2, max: 5 })), i32),
    fc.tuple(fc.constant("unregister"), fc.oneof(i32, fc.integer({ min: -2, max: 300 }))),
    fc.tuple(fc.constant("count")),
  );
  // What a has pending, by the answers it got: count() must agree.
  let expectedA = 0;
  fc.assert(
    fc.property(call, ([fn, x, y]) => {
      const result = a[fn](x, y);
      if (fn === "register") {
        assert.ok(result > 0 || registerCodes.has(result), `register(${x}, ${y}) = ${result}`);
        if (result > 0) expectedA++;
      } else if (fn === "unregister") {
        assert.ok(unregisterCodes.has(result), `unregister(${x}) = ${result}`);
        if (result === E.OK) expectedA--;
      } else {
        assert.is(result, expectedA, "count() after the answers register and unregister gave");
      }
      assert.ok(expectedA <= 50, "within the quota");
    }),
    { numRuns: 5000 },
  );
  assert.is(b.count(), 1, "the other guest's handler is untouched");
  const [thrown] = drain();
  assert.is(thrown, undefined);
  assert.is(logged.filter((l) => l.startsWith("fuzz-a")).length, expectedA);
  assert.equal(logged.slice(-2), ["fuzz-b 42", "js survives"]);
});

Abi.run();

// ---- disposal (G5) ---------------------------------------------------------------

const Dispose = fresh("dispose");

Dispose("runs the guest's pending handlers now, newest first, and leaves the rest", async () => {
  const g = await load("c");
  const other = await load("rust");
  g.register_log(1);
  other.register_log(2);
  atexit.register(() => logged.push("js"));
  g.register_log(3);
  atexit.dispose(g.guest);
  assert.equal(logged, ["c 3", "c 1"]);
  assert.is(g.register_log(4), E.DISPOSED);
  assert.is(g.pending(), 0);
  assert.is(g.cancel(1), E.DISPOSED);
  assert.is(atexit.count(), 2);
  drain();
  assert.equal(logged, ["c 3", "c 1", "js", "rust 2"]);
});

Dispose("with run: false drops them; disposing twice does nothing", async () => {
  const g = await load("assemblyscript");
  g.register_log(1);
  atexit.dispose(g.guest, { run: false });
  atexit.dispose(g.guest);
  drain();
  assert.equal(logged, []);
});

Dispose("a failing handler is reported, the others still run, then its error is thrown", async () => {
  const g = await load("rust");
  g.register_log(1);
  g.register_failing();
  g.register_log(2);
  const [thrown, reports] = failuresOf(() => atexit.dispose(g.guest));
  assert.instance(thrown, WebAssembly.RuntimeError);
  assert.equal(logged, ["rust 2", "rust 1"]);
  assert.is(reports.length, 1);
  assert.match(reports[0], 'of guest "rust" failed');
});

Dispose("the guest's table slots are reused by later guests", async () => {
  const core = globalThis[Symbol.for("wasm-atexit.runtime")].internals;
  const first = await load("c");
  first.register_log(1);
  atexit.dispose(first.guest, { run: false });
  const length = core.table.length;
  const second = await load("c");
  second.register_log(2);
  assert.is(core.table.length, length);
  drain();
  assert.equal(logged, ["c 2"]);
});

Dispose("a handler replaced in the guest's table keeps its registrations, and all its slots are freed", async () => {
  const core = globalThis[Symbol.for("wasm-atexit.runtime")].internals;
  const g = await loadAbiGuest("replacing");
  g.register(LOG, 1);
  const table = g.guest.table;
  const original = table.get(LOG);
  const { instance: other } = await WebAssembly.instantiate(
    wat(`(module (import "env" "log" (func $log (param i32))) (func (export "f") (param i32) (call $log (i32.add (local.get 0) (i32.const 100)))))`),
    logTo("replacement"),
  );
  table.set(LOG, other.exports.f);
  g.register(LOG, 2);
  assert.is(g.guest.slotOf.size, 2, "one slot per distinct function");
  for (let i = 0; i < 1000; i++) {
    // Swapping the entry back and forth reuses the same two slots (G6).
    table.set(LOG, i % 2 ? other.exports.f : original);
    g.unregister(g.register(LOG, 0));
  }
  assert.is(g.guest.slotOf.size, 2);
  atexit.dispose(g.guest);
  assert.equal(logged, ["replacement 102", "replacing 1"], "each registration calls the function it was made with");
  const length = core.table.length;
  const next = await loadAbiGuest("next");
  next.register(LOG, 3);
  next.register(2 /* not even a handler */, 0);
  const again = await loadAbiGuest("again");
  again.register(LOG, 4);
  assert.is(core.table.length, length, "both freed slots were reused");
});

Dispose("rejects what is not a guest", () => {
  assert.throws(
    () => atexit.dispose({ owner: 1 }),
    (err) => err instanceof TypeError && err.message === "wasm-atexit: dispose: guest must be a Guest from instantiate or createGuest, got an object",
  );
});

Dispose.run();

// ---- the core calls guests directly (G7), and initialisation ----------------

const Direct = fresh("calls and initialisation");

Direct("a guest handler is called by the core through its table: no JavaScript frame between them", async () => {
  const g = await load("c");
  g.register_failing();
  const [thrown] = drain();
  const frames = thrown.stack.split("\n").filter((line) => line.startsWith("    at "));
  const moduleOf = (frame) => frame.split(":wasm-function")[0];
  assert.match(frames[0], /wasm:\/\/wasm\/[0-9a-f]+:wasm-function/, "the guest's frame");
  // The handler, then the C header's flushing trampoline: both the guest's.
  assert.is(moduleOf(frames[1]), moduleOf(frames[0]), "the trampoline that flushes stdio after the handler (W4)");
  assert.match(frames[2], /wasm:\/\/wasm\/[0-9a-f]+:wasm-function/, "right below them, the core's");
  assert.is.not(moduleOf(frames[2]), moduleOf(frames[0]), "two modules");
});

Direct("AssemblyScript top-level code registers when built with --exportStart _initialize", async () => {
  const withInitialize = buildAssemblyScript("init", ["--exportStart", "_initialize"]);
  const { instance } = await atexit.instantiate(withInitialize, logTo("init"), { name: "init" });
  assert.ok(instance.exports.init_status() > 0);
  const withStart = buildAssemblyScript("init");
  const before = atexit.count();
  await assertRejects(atexit.instantiate(withStart, logTo("start"), { name: "start" }),
    'wasm-atexit: instantiate: guest "start" registered from its start function, before its table could be attached: ' +
      "register from _initialize instead (AssemblyScript: build with --exportStart _initialize)");
  assert.is(atexit.count(), before, "nothing of the failed instantiation is left");
  drain();
  assert.equal(logged, ["init 7"]);
});

Direct.run();

// ---- at a real exit -----------------------------------------------------------------

const AtExit = suite("guests at a real exit");
const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-guests-"));
const asPath = join(dir, "logger-as.wasm");
writeFileSync(asPath, binaries.assemblyscript);
const guestsFixture = (scenario) =>
  runFixture("guests.mjs", [asPath, NATIVE.c.prebuilt, NATIVE.rust.prebuilt, scenario]);

AtExit("JavaScript, AssemblyScript, C and Rust handlers run in one LIFO order, arguments intact", () => {
  const r = guestsFixture("interleave");
  assert.equal(lines(r.stdout), ["pending 10", "js 8", "as 2147483647", "c -6", "rust 0", "js 5", "rust 4", "c 3", "as 2", "js 1"]);
  assert.match(r.stderr, /^wasm-atexit: exit handler function \d+ of guest "c" failed:\nRuntimeError: unreachable/);
  assert.is(r.code, 1, "a failed handler makes exit code 0 into 1");
});

AtExit("a disposed guest's handlers run at disposal, never at exit", () => {
  const r = guestsFixture("dispose");
  assert.equal(lines(r.stdout), ["rust 2", "rust 1", `disposed; pending 2, rust register now ${E.DISPOSED}`, "c 3", "js at exit"]);
  assert.is(r.stderr, "");
  assert.is(r.code, 0);
});

AtExit.run();

// ---- the committed C and Rust binaries are what their sources build to -----

const Prebuilt = suite("prebuilt guests");
const REQUIRED = process.env.WASM_ATEXIT_REQUIRE_TOOLCHAINS === "1";

// A build must not depend on what else is on PATH: clang runs any wasm-opt
// it finds (beside itself, as Debian's binaryen puts it, else on PATH) when
// the link step has an -O level. CI installs binaryen; and each guest is
// rebuilt with a wasm-opt first on PATH that fails, naming itself, if run.
const shadowing = join(dir, "shadowing-bin");
mkdirSync(shadowing);
writeFileSync(join(shadowing, "wasm-opt"), "#!/bin/sh\necho \"wasm-opt was run: $*\" >&2\nexit 1\n", { mode: 0o755 });
const withWasmOptOnPath = { ...process.env, PATH: `${shadowing}:${process.env.PATH ?? ""}` };

for (const language of Object.keys(NATIVE)) {
  const { tool } = NATIVE[language];
  const test = testIf(Prebuilt, hasTool(tool), REQUIRED, `no ${tool} here: the committed ${language} guest is used as it is`);
  test(`${NATIVE[language].prebuilt} is built from ${NATIVE[language].source}, whatever wasm-opt is on PATH`, () => {
    const built = buildNative(language, join(dir, `${language.replaceAll(" ", "-")}.wasm`), withWasmOptOnPath);
    assert.ok(built.equals(prebuilt(language)), `rebuild it: node tests/guests/build.mjs`);
  });
}

const withClang = testIf(Prebuilt, hasTool("clang") && hasTool("llvm-ar"), REQUIRED, "no clang or llvm-ar here: the committed library is used as it is");
withClang("lib/wasm32-wasi/libwasm-atexit.a is built from include/wasm_atexit_libc.c", () => {
  const built = readFileSync(buildLibrary(join(dir, "libwasm-atexit.a")));
  assert.ok(built.equals(readFileSync(join(root, LIBRARY))), "rebuild it: node scripts/build-lib.mjs");
});

Prebuilt.after(() => rmSync(dir, { recursive: true, force: true }));
Prebuilt.run();
