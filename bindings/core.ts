// Loads the AssemblyScript core and types its raw exports. The release core's
// bytes are embedded in build/index.js by the bundler, so loading needs no
// file system and works on every host.

import type * as Loader from "@assemblyscript/loader";
// A string: the bundler embeds the file as base64 (scripts/bundle.mjs).
import coreBase64 from "../build/core.wasm";
import { DEBUG_CORE } from "./globals.js";

/** The core's exports (assembly/index.ts); handles are record indices. */
export interface CoreExports {
  reserve(records: number): number;
  link(upTo: number): void;
  pushJs(): number;
  newOwner(quota: number): number;
  pushGuest(owner: number, slot: number, arg: number, takesArg: number): number;
  countOf(owner: number): number;
  slotPending(owner: number, slot: number): number;
  remove(owner: number, handle: number): number;
  disposeOwner(owner: number, run: number): void;
  clear(): void;
  take(max: number, stopAtGuests: number): number;
  settle(ran: number): void;
  runTaken(): void;
  /** Where `take` writes the handles it hands out (a WebAssembly.Global). */
  batch: { readonly value: number };
  /** The batch's first handle when its handles count down by one, else 0 (a WebAssembly.Global). */
  batchTop: { readonly value: number };
  /** The table slot of the guest handler called last (a WebAssembly.Global). */
  lastGuestSlot: { readonly value: number };
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

/** What take(…, 1) returns when it stopped before a guest's handler (assembly/index.ts). */
export const TOOK_GUEST = -2147483648;

let compiled: WebAssembly.Module | undefined;

// A dependency imported by the first instantiate(), not bundled: importing
// the package then parses none of it (SPEC P4).
let loaderModule: Promise<typeof Loader> | undefined;

const loader = (): Promise<typeof Loader> => {
  if (loaderModule === undefined) {
    loaderModule = import("@assemblyscript/loader");
    // Thrown where it is awaited; not an unhandled rejection when the
    // instantiate() that started it fails first.
    loaderModule.catch(() => {});
  }
  return loaderModule;
};

/**
 * Starts importing @assemblyscript/loader, once. An instantiate() starts it
 * before loading the core and compiling the guest, so that reading and
 * evaluating the loader overlaps them (SPEC P4). Returns nothing, so that
 * the shipped declarations name none of the loader's types.
 */
export function startLoader(): void {
  void loader();
}

/** A module instantiated through the loader (typed without the WebAssembly lib); `E` types its exports. */
export interface LoadedModule<E extends object = Record<string, unknown>> {
  module: object;
  instance: { exports: E };
  /** The exports as the loader wraps them. */
  exports: E;
}

// Outside a browser's main thread, where large modules must be
// instantiated asynchronously, modules are instantiated synchronously: the
// loader's asynchronous path checks for a Response.
const onMainThread = (): boolean => typeof (globalThis as { document?: unknown }).document !== "undefined";

/**
 * Instantiates a guest through @assemblyscript/loader, which supplies
 * AssemblyScript's env.abort with decoded messages. The source is compiled
 * here, and a Response read here, so that the loader never evaluates
 * `typeof Response`: on Node that loads the bundled fetch (undici), which
 * costs tens of milliseconds (SPEC P4).
 */
export async function instantiateWithLoader<E extends object = Record<string, unknown>>(
  source: unknown,
  imports: Record<string, unknown>,
): Promise<LoadedModule<E>> {
  const loading = loader();
  const module = await compile(await source);
  const { instantiate, instantiateSync } = await loading;
  const loaded = onMainThread() ? await instantiate(module, imports as never) : instantiateSync(module, imports as never);
  return loaded as unknown as LoadedModule<E>;
}

async function compile(source: unknown): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  const response = source as { arrayBuffer?: unknown; headers?: unknown };
  // A fetch Response, recognised without touching the global Response.
  if (typeof response === "object" && response !== null && typeof response.arrayBuffer === "function" && typeof response.headers === "object") {
    return WebAssembly.compile(await (response as { arrayBuffer(): Promise<ArrayBuffer> }).arrayBuffer());
  }
  return WebAssembly.compile(source as BufferSource);
}

// What the loader adds to an import object when it lacks them (its
// preInstantiate): AssemblyScript's env.abort, env.trace and env.seed, and
// the Math and Date namespaces.
const LOADER_ENV = new Set(["abort", "trace", "seed"]);
const LOADER_NAMESPACES = new Set(["Math", "Date"]);

/**
 * Instantiates a compiled module whose wrapped exports nobody reads (a
 * module the WASI runner links): through the loader only when the module
 * imports something the loader supplies, as an AssemblyScript one does.
 * A C or Rust module then costs no import of the loader (SPEC P4).
 */
export async function instantiateLinked(module: object, imports: Record<string, unknown>): Promise<Pick<LoadedModule, "instance">> {
  const wasm = module as WebAssembly.Module;
  const needsLoader = WebAssembly.Module.imports(wasm).some(
    (entry) => LOADER_NAMESPACES.has(entry.module) || (entry.module === "env" && LOADER_ENV.has(entry.name)),
  );
  if (needsLoader) return instantiateWithLoader(wasm, imports);
  const linked = imports as WebAssembly.Imports;
  const instance = onMainThread() ? await WebAssembly.instantiate(wasm, linked) : new WebAssembly.Instance(wasm, linked);
  return { instance: instance as unknown as LoadedModule["instance"] };
}

// The core's bytes are embedded as base64 (scripts/bundle.mjs); Node, Bun
// and Deno decode it natively, several times faster than a loop in JS, at
// the start of the first drain (SPEC P2).
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const buffer = (globalThis as { Buffer?: { from(text: string, encoding: "base64"): Uint8Array<ArrayBuffer> } }).Buffer;
  return buffer ? buffer.from(text, "base64") : Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export function loadCore(): CoreExports {
  // Tests put the debug core here, with its imports, before the package
  // loads its core (tests/debug-core.mjs): its assertions check that the
  // bindings keep the core's protocol (reserve, link, take, settle).
  const debugCore = (globalThis as Record<symbol, { bytes: Uint8Array<ArrayBuffer>; imports: WebAssembly.Imports } | undefined>)[DEBUG_CORE];
  compiled ??= new WebAssembly.Module(debugCore?.bytes ?? decodeBase64(coreBase64));
  // The release core imports nothing (asconfig.json: no abort, no
  // runtime), so it needs no loader, whose evaluation alone costs more
  // than loading the core (SPEC P4; see `npm run bench`).
  const instance = new WebAssembly.Instance(compiled, debugCore?.imports ?? {});
  return instance.exports as unknown as CoreExports;
}
