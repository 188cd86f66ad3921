// Loaded with --import by demo/start.mjs: Pyodide, with Python's atexit on
// the shared stack (wasm-atexit/pyodide), running demo/counter.py over the
// demo's data folder (WASM_ATEXIT_DEMO_DATA, mounted as /data).
import { readFileSync } from "node:fs";
import { loadPyodide } from "pyodide";
import { linkPyodide } from "wasm-atexit/pyodide";

const started = performance.now();
const pyodide = await loadPyodide();
linkPyodide(pyodide, { name: "python" });
pyodide.FS.mkdirTree("/data");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: process.env.WASM_ATEXIT_DEMO_DATA }, "/data");
pyodide.runPython(readFileSync(new URL("counter.py", import.meta.url), "utf8"));
console.log(`(Pyodide loaded and linked in ${Math.round(performance.now() - started)} ms)`);
