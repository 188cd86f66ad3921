// The Node.js host: drains the stack on the process's (or worker's) `exit`
// event, keeps `process.exit()` inside a handler from cutting the drain
// short, and makes a failed cleanup visible in the exit code.

import { ExitRequest, Runtime, type Host } from "./runtime.js";
import { checkExitCode } from "./errors.js";

// process.reallyExit ends the process (or the worker) without emitting
// `exit`: Node's own process.exit calls it after the event.
const reallyExit = (process as unknown as { reallyExit(code: number): never }).reallyExit;

const nodeHost: Host = {
  intercept(drain) {
    const exit = process.exit;
    process.exit = ((code?: number | string | null) => {
      if (code !== undefined && code !== null) {
        checkExitCode("process.exit", Number(code));
        throw new ExitRequest(Number(code));
      }
      throw new ExitRequest(undefined);
    }) as typeof process.exit;
    try {
      return drain();
    } finally {
      process.exit = exit;
    }
  },
  exitCode: () => Number(process.exitCode ?? 0),
  tracing: () => process.env.WASM_ATEXIT_TRACE === "1",
  exit: (code) => process.exit(code),
  exitNow(code) {
    checkExitCode("exitNow", code);
    return reallyExit.call(process, code);
  },
};

export function createNodeRuntime(): Runtime {
  const runtime = new Runtime(nodeHost);
  process.on("exit", (code) => {
    const drained = runtime.drain(code, null);
    // A handler may have set process.exitCode, or asked for a code.
    const final = drained.exitCode ?? Number(process.exitCode ?? code);
    process.exitCode = drained.failed && final === 0 ? 1 : final;
  });
  return runtime;
}
