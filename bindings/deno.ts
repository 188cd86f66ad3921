// The Deno host. Deno dispatches `unload` however the program ends —
// Deno.exit(), process.exit(), the event loop running dry — and honours an
// exit code set while it runs, so the stack is drained there. Signals and the
// idle drain go through Deno's Node compatibility (process.on), as in Node.

import { ExitRequest, Runtime, type Host } from "./runtime.js";
import { nodeHost } from "./node.js";

interface DenoNamespace {
  exit(code?: number): never;
  exitCode: number;
  env: { get(name: string): string | undefined };
}

export function createDenoRuntime(deno: DenoNamespace): Runtime {
  let exitingNow = false;
  const host: Host = {
    ...nodeHost,
    interceptExit() {
      const restoreProcessExit = nodeHost.interceptExit();
      const exit = deno.exit;
      deno.exit = ((code?: number) => {
        throw new ExitRequest(code);
      }) as DenoNamespace["exit"];
      return () => {
        deno.exit = exit;
        restoreProcessExit();
      };
    },
    exitCode: () => deno.exitCode,
    setExitCode: (code) => {
      deno.exitCode = code;
    },
    exit: (code) => deno.exit(code),
    exitNow(code) {
      // Deno has no exit that skips `unload`: ours is told to stand aside.
      exitingNow = true;
      return nodeHost.exitNow(code);
    },
    tracing() {
      try {
        return deno.env.get("WASM_ATEXIT_TRACE") === "1";
      } catch {
        return false; // no --allow-env
      }
    },
  };
  const runtime = new Runtime(host);
  globalThis.addEventListener("unload", () => {
    if (!exitingNow) runtime.drainAtExit(deno.exitCode);
  });
  return runtime;
}
