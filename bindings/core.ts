// Loads the AssemblyScript core and types its raw exports. The release core's
// bytes are embedded in build/index.js by the bundler, so loading needs no
// file system and works on every host.

import type * as Loader from "@assemblyscript/loader";

/** The core's exports (assembly/index.ts); handles and keys are record indices. */
export interface CoreExports {
  pushJs(key: number): number;
  newOwner(quota: number): number;
  pushGuest(owner: number, slot: number, arg: number, takesArg: number): number;
  countOf(owner: number): number;
  slotPending(owner: number, slot: number): number;
  remove(owner: number, handle: number): number;
  removeAll(key: number): number;
  disposeOwner(owner: number, run: number): void;
  clear(): void;
  next(stopAtGuests: number): number;
  runTaken(): void;
  lastGuestSlot(): number;
  count(): number;
  recordsInUse(): number;
  limitPages(pages: number): void;
  // Typed structurally, so the shipped .d.ts needs no WebAssembly lib.
  memory: { readonly buffer: ArrayBufferLike };
  /** The core's function table: guest handlers are copied here to be called. */
  table: FunctionTable;
}

/** The part of WebAssembly.Table the bindings use. */
export interface FunctionTable {
  readonly length: number;
  get(index: number): Function | null;
  grow(delta: number, value?: Function | null): number;
  set(index: number, value: Function | null): void;
}

/** What next(1) returns when it stopped before a guest's handler (assembly/index.ts). */
export const TOOK_GUEST = -2147483648;

/** What the core calls back (assembly/host.ts). */
export interface CoreHost {
  released(handle: number, lastOfFunction: number): void;
}

let compiled: WebAssembly.Module | undefined;

// require(), not import: the bundler turns these into modules evaluated on
// first use rather than at import, which keeps importing the package cheap
// (SPEC P4); the loader builds a TextDecoder as soon as it is evaluated.
const loader = (): typeof Loader => require("@assemblyscript/loader") as typeof Loader;

/** A module instantiated through the loader (typed without the WebAssembly lib). */
export interface LoadedModule {
  module: object;
  instance: { exports: Record<string, unknown> };
  /** The exports as the loader wraps them. */
  exports: Record<string, unknown>;
}

/**
 * Instantiates a guest through @assemblyscript/loader, which supplies
 * AssemblyScript's env.abort with decoded messages.
 */
export function instantiateWithLoader(source: unknown, imports: Record<string, unknown>): Promise<LoadedModule> {
  return loader().instantiate(source as BufferSource, imports as never) as unknown as Promise<LoadedModule>;
}

export function loadCore(host: CoreHost): CoreExports {
  const { instantiateSync } = loader();
  compiled ??= new WebAssembly.Module(require("../build/core.wasm") as Uint8Array<ArrayBuffer>);
  // The loader supplies env.abort with decoded messages; the raw instance
  // exports are used rather than its wrapped ones, which add a rest-argument
  // call on every registration.
  const { instance } = instantiateSync(compiled, { host: host as unknown as Record<string, unknown> });
  return instance.exports as unknown as CoreExports;
}
