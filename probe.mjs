import atexit from "wasm-atexit";
const n = Number(process.argv[3] ?? 1000); let first, last;
const fns = new Array(n); for (let i = 0; i < n; i++) fns[i] = i === 0 || i === n - 1 ? () => { const t = performance.now(); if (first === undefined) first = t; else last = t; } : () => {};
for (const f of fns) atexit.register(f);
atexit.runExitHandlers(); console.log("sync", n, ((last - first) * 1e6 / n).toFixed(0), "ns");
