// npm run bench: SPEC P1–P6 measured as a user's process meets the package.
// Every figure comes from fresh child processes (bench/child.mjs): cold
// code, N distinct closures registered at top level, the drain at the
// natural end. wasm-atexit, a bare array (the floor), signal-exit and
// exit-hook run interleaved, round by round; medians of ROUNDS. CPython's
// atexit is measured the same way when python3 is here. Prints a Markdown
// table and a verdict per P rule. (npm run bench:warm has warm loops in one
// process, a second table.)
//
//   npm run bench                        N = 10^3 … 10^6, 5 rounds
//   BENCH_SIZES=1000,10000 BENCH_ROUNDS=3 npm run bench
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const SIZES = (process.env.BENCH_SIZES ?? "1000,10000,100000,1000000").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LIBRARIES = ["array", "wasm-atexit", "signal-exit", "exit-hook"];
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

function child(library, n, ...extra) {
  const flags = extra.includes("memory") ? ["--expose-gc"] : [];
  const out = execFileSync(process.execPath, [...flags, join(root, "bench", "child.mjs"), library, String(n), ...extra], { cwd: root, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1));
}

/** For each N: each library's medians of register and drain, per registration (ns), and of import and first registration (ms). */
function measure() {
  const results = {};
  for (const n of SIZES) {
    const runs = Object.fromEntries(LIBRARIES.map((library) => [library, []]));
    for (let round = 0; round < ROUNDS; round++) for (const library of LIBRARIES) runs[library].push(child(library, n));
    results[n] = Object.fromEntries(
      LIBRARIES.map((library) => [library, {
        register: (median(runs[library].map((r) => r.register)) * 1e6) / n,
        drain: (median(runs[library].map((r) => r.drain)) * 1e6) / n,
        exit: (median(runs[library].map((r) => r.exit)) * 1e6) / n,
        import: median(runs[library].map((r) => r.import)),
        first: median(runs[library].map((r) => r.first)),
      }]),
    );
  }
  return results;
}

/** CPython's atexit in a fresh interpreter: register N distinct lambdas, and the drain at exit (ns each). */
function python(n) {
  // The report is registered first, so it runs last, after the drain.
  const script = `
import atexit, json, sys, time
n = ${n}
marks = []
def mark(): marks.append(time.perf_counter_ns())
def report(): print(json.dumps({"register": register, "drain": (marks[1] - marks[0]) / n}))
atexit.register(report)
fns = [(lambda: None) for _ in range(n)]
fns[0] = mark; fns[-1] = mark
t = time.perf_counter_ns()
for f in fns: atexit.register(f)
register = (time.perf_counter_ns() - t) / n
`;
  const runs = [];
  for (let round = 0; round < ROUNDS; round++) {
    const r = spawnSync("python3", ["-c", script], { encoding: "utf8" });
    if (r.error || r.status !== 0) return undefined;
    runs.push(JSON.parse(r.stdout));
  }
  return { register: median(runs.map((r) => r.register)), drain: median(runs.map((r) => r.drain)) };
}

/** P4: instantiate() against WebAssembly.instantiate, and the command against a plain node:wasi runner (ms, medians of fresh processes). */
function startup() {
  const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-bench-"));
  try {
    const guest = join(root, "tests", "guests", "prebuilt", "logger-c.wasm");
    const program = join(root, "tests", "guests", "prebuilt", "program-c.wasm");
    const timeIt = (body) => `const bytes = (await import("node:fs")).readFileSync(${JSON.stringify(guest)});
      const imports = { env: { log() {} } };
      ${body}`;
    const instantiate = {
      plain: timeIt(`const t = performance.now(); await WebAssembly.instantiate(bytes, { ...imports, atexit: { register() { return 1; }, register_call() { return 1; }, unregister() { return 0; }, count() { return 0; } } }); console.log(performance.now() - t);`),
      ours: timeIt(`const { instantiate } = await import("wasm-atexit"); const t = performance.now(); await instantiate(bytes, imports); console.log(performance.now() - t);`),
    };
    const plainRunner = join(dir, "plain.mjs");
    writeFileSync(plainRunner, `import { readFileSync } from "node:fs"; import { WASI } from "node:wasi";
      const wasi = new WASI({ version: "preview1", args: ["p", "return"], env: {}, returnOnExit: true });
      const imports = { wasi_snapshot_preview1: wasi.wasiImport, atexit: { register() { return 1; }, register_call() { return 1; }, unregister() { return 0; }, count() { return 0; } },
        clib: new Proxy({}, { get: () => () => 0 }), aslib: new Proxy({}, { get: () => () => 0 }) };
      const { instance } = await WebAssembly.instantiate(readFileSync(${JSON.stringify(program)}), imports);
      process.exitCode = wasi.start(instance);`);
    const times = { plain: [], ours: [], runner: [], command: [] };
    for (let round = 0; round < 11; round++) {
      for (const [name, code] of Object.entries(instantiate)) {
        times[name].push(Number(execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8" })));
      }
      for (const [name, args] of [["runner", [plainRunner]], ["command", [join(root, "build", "cli.js"), "run", program, "--", "return"]]]) {
        const t = process.hrtime.bigint();
        spawnSync(process.execPath, args, { cwd: root, stdio: "ignore" });
        times[name].push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }
    return Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** P3: removing all N registrations one by one, in random order (ns per removal), in a fresh process. */
function removal(n) {
  const code = `import { onExit } from "wasm-atexit";
    const removers = Array.from({ length: ${n} }, () => onExit(() => {}));
    for (let i = removers.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [removers[i], removers[j]] = [removers[j], removers[i]]; }
    const t = performance.now(); for (const remove of removers) remove(); console.log(((performance.now() - t) * 1e6) / ${n});`;
  return median(Array.from({ length: ROUNDS }, () => Number(execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8" }))));
}

const ns = (x) => (x >= 100 ? `${Math.round(x)} ns` : `${x.toFixed(1)} ns`);
const cell = (x, floor) => `${ns(x)} (${(x / floor).toFixed(2)}x)`;

console.log(`wasm-atexit cold benchmark: node ${process.version}, fresh processes, N distinct closures, median of ${ROUNDS} interleaved rounds.\n`);
const results = measure();
const rows = [
  "| N | step | array | wasm-atexit | signal-exit | exit-hook | CPython atexit |",
  "|---:|---|---:|---:|---:|---:|---:|",
];
const cpython = {};
for (const n of SIZES) {
  const r = results[n];
  cpython[n] = python(n);
  for (const step of ["register", "drain", "exit"]) {
    const floor = r.array[step];
    rows.push(`| ${n} | ${step} | ${ns(floor)} | ${cell(r["wasm-atexit"][step], floor)} | ${cell(r["signal-exit"][step], floor)} | ${cell(r["exit-hook"][step], floor)} | ${cpython[n]?.[step] !== undefined ? ns(cpython[n][step]) : ""} |`);
  }
}
console.log(rows.join("\n"));
console.log(`
register: the loop registering N closures; drain: first handler called to last; exit: end of registering to last handler,
which also counts the work a library leaves for exit (wasm-atexit loads its core and links the registrations then). Per registration.`);

const first = (library) => median(SIZES.map((n) => results[n][library].first));
const importPlusFirst = (library) => median(SIZES.map((n) => results[n][library].import + results[n][library].first));
const memory = child("wasm-atexit", 1e6, "memory").bytesPerRegistration;
const memoryArray = child("array", 1e6, "memory").bytesPerRegistration;
const times = startup();
const removals = [SIZES[0], SIZES.at(-1)].map(removal);
const [packed] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" }));
const coreBytes = readFileSync(join(root, "build", "core.wasm")).length;

console.log(`
import + first registration: wasm-atexit ${importPlusFirst("wasm-atexit").toFixed(2)} ms, signal-exit ${importPlusFirst("signal-exit").toFixed(2)} ms, exit-hook ${importPlusFirst("exit-hook").toFixed(2)} ms
first registration alone: wasm-atexit ${first("wasm-atexit").toFixed(2)} ms, signal-exit ${first("signal-exit").toFixed(2)} ms
instantiate() ${times.ours.toFixed(2)} ms, WebAssembly.instantiate ${times.plain.toFixed(2)} ms (same guest, first in its process)
wasm-atexit run ${times.command.toFixed(1)} ms, plain node:wasi runner ${times.runner.toFixed(1)} ms (whole process)
bytes per pending registration at 10^6: wasm-atexit ${memory.toFixed(1)} B, array ${memoryArray.toFixed(1)} B
removal of all N in random order: ${removals[0].toFixed(0)} ns each at N = ${SIZES[0]}, ${removals[1].toFixed(0)} ns at N = ${SIZES.at(-1)}
release core ${coreBytes} B, tarball ${packed.size} B
`);

const worst = (step, than) => Math.max(...SIZES.map((n) => results[n]["wasm-atexit"][step] / results[n][than][step]));
const beats = (step) => SIZES.every((n) => results[n]["wasm-atexit"][step] < Math.min(results[n]["signal-exit"][step], results[n]["exit-hook"][step]));
const verdicts = [
  ["P1", worst("register", "array") <= 2 && beats("register"), `register is up to ${worst("register", "array").toFixed(2)}x a bare push (budget 2x); ${beats("register") ? "below" : "not below"} signal-exit and exit-hook at every N`],
  ["P2", worst("drain", "array") <= 2 && beats("drain"), `the drain is up to ${worst("drain", "array").toFixed(2)}x a reverse loop (budget 2x); ${beats("drain") ? "below" : "not below"} signal-exit and exit-hook at every N`],
  ["P3", removals[1] / removals[0] < 4, `removal per registration ${removals[0].toFixed(0)} ns at N = ${SIZES[0]} and ${removals[1].toFixed(0)} ns at N = ${SIZES.at(-1)} (linear: flat within 4x)`],
  ["P4", importPlusFirst("wasm-atexit") <= importPlusFirst("signal-exit") && first("wasm-atexit") <= 0.5 && times.ours - times.plain <= 5 && times.command - times.runner <= 10,
    `import + first registration ${importPlusFirst("wasm-atexit").toFixed(2)} ms against signal-exit's ${importPlusFirst("signal-exit").toFixed(2)}; first registration ${first("wasm-atexit").toFixed(2)} ms (budget 0.5); instantiate +${(times.ours - times.plain).toFixed(2)} ms (budget 5); command +${(times.command - times.runner).toFixed(1)} ms (budget 10)`],
  ["P5", coreBytes <= 2048 && packed.size <= 48 * 1024, `release core ${coreBytes} B (budget 2048), tarball ${packed.size} B (budget 49152)`],
  ["P6", memory <= 48, `${memory.toFixed(1)} B per pending registration at 10^6, JS heap and Wasm memory (budget 48)`],
];
console.log(verdicts.map(([id, holds, text]) => `${id} ${holds ? "holds" : "does not hold"}: ${text}`).join("\n"));
