// runWasi (SPEC W1–W3) as the package exports it. Running a program is
// wasi-run.ts's, imported when a program first runs: importing the package
// parses none of it, of its WASI adapters or of the --dir sandbox (SPEC P4).

import type { Runtime, WasmSource } from "./runtime.js";
import { WasiError, type RunWasiOptions } from "./wasi-options.js";

export { WasiError, type RunWasiOptions } from "./wasi-options.js";

/**
 * Runs `program`; resolves to its exit code once every exit handler has run.
 * A handler failure turns an exit code of 0 into 1 (SPEC R9); a handler
 * asking to exit sets the code.
 */
export async function runWasi(runtime: Runtime, program: WasmSource, options: RunWasiOptions = {}): Promise<number> {
  const { runProgram } = await import("./wasi-run.js");
  const outcome = await runProgram(runtime, program, options);
  if ("refused" in outcome) throw new WasiError(outcome.refused, "cause" in outcome ? { cause: outcome.cause } : undefined);
  return outcome.code;
}
