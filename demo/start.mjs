// npm start: the seed's counter across languages. A C program
// (demo/counter.c), an AssemblyScript library linked to it
// (demo/counter-as.ts), a JavaScript module (demo/counter.mjs) and Python in
// Pyodide (demo/counter.py) each keep a counter in a file and save it from
// an exit handler; all the handlers share one stack, so the output shows
// one LIFO order across the four.
//
//   node demo/start.mjs [data-dir]     (default: demo/data)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dataDir = resolve(process.argv[2] ?? join(root, "demo", "data"));
mkdirSync(dataDir, { recursive: true });

// The AssemblyScript library is built with the project's asc (in demo/,
// away from the root's asconfig.json, which names the core), once, and
// again only when its source changes; the C program is committed
// (demo/prebuilt/, checked against demo/counter.c by the tests wherever
// clang is), since a fresh machine has no clang.
const source = join(root, "demo", "counter-as.ts");
const library = join(root, "build", "demo", "counter-as.wasm");
if (!existsSync(library) || statSync(library).mtimeMs < statSync(source).mtimeMs) {
  execFileSync(process.execPath, [
    join(root, "node_modules", "assemblyscript", "bin", "asc.js"), "counter-as.ts",
    "--exportTable", "--exportStart", "_initialize", "--runtime", "stub", "-O3", "-o", library,
  ], { cwd: join(root, "demo"), stdio: "inherit" });
}

const args = [
  "run", "demo/prebuilt/counter-c.wasm",
  "--link", `counter_as=${relative(root, library)}`,
  "--dir", `${relative(root, dataDir) || "."}::/data`,
  "--import", "demo/counter.mjs",
  "--import", "demo/counter-py.mjs",
];
console.log(`$ wasm-atexit ${args.join(" ")}\n`);
const run = spawnSync(process.execPath, [join(root, "build", "cli.js"), ...args], {
  cwd: root,
  env: { ...process.env, WASM_ATEXIT_DEMO_DATA: dataDir },
  stdio: "inherit",
});
process.exitCode = run.status ?? 1;
