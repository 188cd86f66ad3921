// SPEC P4's baseline for the command (bench/index.mjs): a plain node:wasi
// runner, as a user would write one, for the program `wasm-atexit run`
// runs; its own imports are stubs.
//   node bench/plain-wasi.mjs <program.wasm> [args...]
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [program, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [program, ...args], env: {}, returnOnExit: true });
const stub = new Proxy({}, { get: () => () => 0 });
const imports = { wasi_snapshot_preview1: wasi.wasiImport, atexit: stub, clib: stub, aslib: stub };
const { instance } = await WebAssembly.instantiate(readFileSync(program), imports);
process.exitCode = wasi.start(instance);
