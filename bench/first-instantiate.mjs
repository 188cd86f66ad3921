// One fresh process of SPEC P4's first instantiate() (bench/index.mjs):
//   node bench/first-instantiate.mjs <plain|wasm-atexit> <guest.wasm>
// Times the first instantiation of the guest in this process, cold: with
// WebAssembly.instantiate and stub imports (plain), or with the package's
// instantiate(), which then also loads the core, imports
// @assemblyscript/loader and links the guest. The package is imported
// before the clock starts: its import is P4's other figure. Prints the ms.
import { readFileSync } from "node:fs";
import { importPackage } from "./libraries.mjs";

const [how, guest] = process.argv.slice(2);
const bytes = readFileSync(guest);
const log = () => {};
let instantiate;
if (how === "plain") {
  const stub = new Proxy({}, { get: () => () => 0 });
  instantiate = () => WebAssembly.instantiate(bytes, { env: { log, abort() {} }, atexit: stub });
} else {
  const atexit = await importPackage();
  instantiate = () => atexit.instantiate(bytes, { env: { log } });
}
const start = performance.now();
await instantiate();
console.log(JSON.stringify({ ms: performance.now() - start }));
