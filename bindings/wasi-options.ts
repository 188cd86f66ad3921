// What runWasi (SPEC W1–W3) takes and what it throws: imported by its entry
// (wasi.ts, in the package) and by the runner it loads when a program first
// runs (wasi-run.ts). The caller only ever gets the package's WasiError:
// the runner, bundled apart, hands its refusals over as messages.

import type { WasmSource } from "./runtime.js";

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
