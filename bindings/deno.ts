// The Deno host. Deno dispatches `unload` however the program ends —
// Deno.exit(), process.exit(), the event loop running dry — and honours an
// exit code set while it runs, so the stack is drained there. Signals, the
// idle drain and the rest go through Deno's Node compatibility, as in Node.

import { nodeHost } from "./node.js";
import type { Host } from "./shutdown.js";

interface DenoNamespace {
  exit(code?: number): never;
  exitCode: number;
  env: { get(name: string): string | undefined };
}

export function denoHost(deno: DenoNamespace): Host {
  let exitingNow = false;
  let realExit: DenoNamespace["exit"] | undefined;
  return {
    ...nodeHost,
    replaceExit(exit) {
      const restoreProcessExit = nodeHost.replaceExit(exit);
      realExit = deno.exit;
      const original = realExit;
      deno.exit = ((code?: number) => exit(code)) as DenoNamespace["exit"];
      return () => {
        deno.exit = original;
        realExit = undefined;
        restoreProcessExit();
      };
    },
    exitCode: () => deno.exitCode,
    setExitCode: (code) => {
      deno.exitCode = code;
    },
    exit: (code) => (realExit ?? deno.exit).call(deno, code),
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
    onEnd(handler) {
      globalThis.addEventListener("unload", () => {
        if (!exitingNow) handler(deno.exitCode);
      });
    },
  };
}
