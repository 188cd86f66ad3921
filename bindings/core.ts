// Loads the AssemblyScript core and types its raw exports. The release core's
// bytes are embedded in build/index.js by the bundler, so loading needs no
// file system and works on every host.

import type * as Loader from "@assemblyscript/loader";

/** The core's exports (assembly/index.ts); handles and keys are record indices. */
export interface CoreExports {
  pushJs(key: number): number;
  remove(owner: number, handle: number): number;
  removeAll(key: number): number;
  clear(): void;
  next(): number;
  count(): number;
  recordsInUse(): number;
  limitPages(pages: number): void;
  // Typed structurally, so the shipped .d.ts needs no WebAssembly lib.
  memory: { readonly buffer: ArrayBufferLike };
}

/** What the core calls back (assembly/host.ts). */
export interface CoreHost {
  released(handle: number, lastOfFunction: number): void;
}

let compiled: WebAssembly.Module | undefined;

export function loadCore(host: CoreHost): CoreExports {
  // require(), not import: the bundler turns these into modules evaluated on
  // this first call rather than at import, which keeps importing the package
  // cheap (SPEC P4); the loader builds a TextDecoder as soon as it is
  // evaluated.
  const { instantiateSync } = require("@assemblyscript/loader") as typeof Loader;
  compiled ??= new WebAssembly.Module(require("../build/core.wasm") as Uint8Array<ArrayBuffer>);
  // The loader supplies env.abort with decoded messages; the raw instance
  // exports are used rather than its wrapped ones, which add a rest-argument
  // call on every registration.
  const { instance } = instantiateSync(compiled, { host: host as unknown as Record<string, unknown> });
  return instance.exports as unknown as CoreExports;
}
