// WASI hosts (SPEC W1–W3): runWasi's options and errors. Running a program
// is wasi-run.ts's, which is loaded when a program first runs: importing the
// package parses none of it, or of the --dir sandbox (SPEC P4).

import { instantiateWithLoader } from "./core.js";
import { missingFlag } from "./guests.js";
import type { Runtime, WasmSource } from "./runtime.js";

export interface RunWasiOptions {
  /** The program's argv, its own name first (default: [name]). */
  args?: string[];
  env?: Record<string, string>;
  /**
   * Directories the program may open: the path it sees → the host directory
   * (node:wasi only). No path leads outside them, symbolic links included.
   */
  preopens?: Record<string, string>;
  /**
   * Reactor libraries, by the import module name the program uses for them,
   * instantiated in this order before the program; each is a guest under
   * that name, with its own WASI view of the same args, env and stdio, and
   * sees the libraries before it.
   */
  link?: Record<string, WasmSource>;
  /** The WASI implementation: node:wasi (default), or @bjorn3/browser_wasi_shim, which you install. */
  wasi?: "node" | "browser_wasi_shim";
  /** The program's guest name in reports (default "main"). */
  name?: string;
}

/** A problem with the program or a library, worded for whoever runs it. */
export class WasiError extends Error {
  override name = "WasiError";
}

/** What wasi-run.ts takes from the package: its one copy of each, not a second. */
export interface WasiKit {
  runtime: Runtime;
  instantiateWithLoader: typeof instantiateWithLoader;
  missingFlag: typeof missingFlag;
  WasiError: typeof WasiError;
}

/**
 * Runs `program`; resolves to its exit code once every exit handler has run.
 * A handler failure turns an exit code of 0 into 1 (SPEC R9); a handler
 * asking to exit sets the code.
 */
export async function runWasi(runtime: Runtime, program: WasmSource, options: RunWasiOptions = {}): Promise<number> {
  const { runWasiWith } = await import("./wasi-run.js");
  return runWasiWith({ runtime, instantiateWithLoader, missingFlag, WasiError }, program, options);
}
