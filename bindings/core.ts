// Loads the AssemblyScript core and types its raw exports. The core's bytes
// are embedded in build/core-bytes.js by scripts/embed-core.mjs, so loading
// needs no file system and works on every host.

import { instantiateSync } from "@assemblyscript/loader";
import coreBase64 from "./core-bytes.js";

/** The core's exports (assembly/index.ts); handles and keys are record indices. */
export interface CoreExports {
  pushJs(key: number): number;
  remove(owner: number, handle: number): number;
  removeAll(key: number): number;
  clear(): void;
  drain(): void;
  count(): number;
  recordsInUse(): number;
  limitPages(pages: number): void;
  // Typed structurally, so the shipped .d.ts needs no WebAssembly lib.
  memory: { readonly buffer: ArrayBufferLike };
}

/** What the core calls back (assembly/host.ts). */
export interface CoreHost {
  run(handle: number, key: number, keyGone: number): void;
  released(handle: number, keyGone: number): void;
}

let compiled: WebAssembly.Module | undefined;

export function loadCore(host: CoreHost): CoreExports {
  compiled ??= new WebAssembly.Module(decodeBase64(coreBase64));
  // The loader supplies env.abort with decoded messages; the raw instance
  // exports are used rather than its wrapped ones, which add a rest-argument
  // call on every registration.
  const { instance } = instantiateSync(compiled, { host: host as unknown as Record<string, unknown> });
  return instance.exports as unknown as CoreExports;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
