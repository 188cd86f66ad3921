// The Node.js host (Bun runs it too): drains the stack on the process's (or
// worker's) `exit` event and, with awaiting, on `beforeExit`; keeps
// `process.exit()` inside a handler from cutting the drain short; makes a
// failed cleanup visible in the exit code; and gives handleSignals() its
// signals.

import { ExitRequest, Runtime, type Host } from "./runtime.js";
import { checkExitCode } from "./errors.js";

export const nodeHost: Host = {
  interceptExit() {
    const exit = process.exit;
    process.exit = ((code?: number | string | null) => {
      if (code !== undefined && code !== null) {
        checkExitCode("process.exit", Number(code));
        throw new ExitRequest(Number(code));
      }
      throw new ExitRequest(undefined);
    }) as typeof process.exit;
    return () => {
      process.exit = exit;
    };
  },
  exitCode: () => Number(process.exitCode ?? 0),
  setExitCode: (code) => {
    process.exitCode = code;
  },
  tracing: () => process.env.WASM_ATEXIT_TRACE === "1",
  exit: (code) => process.exit(code),
  exitNow(code) {
    checkExitCode("exitNow", code);
    // Ends the process (or the worker) without emitting `exit`: Node's own
    // process.exit calls it after the event.
    return (process as unknown as { reallyExit(code: number): never }).reallyExit(code);
  },
  listenForSignals(signals, handler) {
    const listeners = new Map<string, () => void>();
    for (const signal of signals) {
      const listener = () => {
        // Another listener means the application handles this signal itself.
        if (process.listenerCount(signal) === 1) handler(signal, 128 + signalNumber(signal));
      };
      try {
        process.on(signal as NodeJS.Signals, listener);
        listeners.set(signal, listener);
      } catch {
        // A signal this platform does not have.
      }
    }
    return () => {
      for (const [signal, listener] of listeners) process.off(signal, listener);
      listeners.clear();
    };
  },
  raise(signal) {
    process.kill(process.pid, signal);
  },
  onIdle(handler) {
    process.on("beforeExit", handler);
  },
};

// os.constants.signals, read when a signal comes rather than importing
// node:os at start-up; Linux's numbers where getBuiltinModule is missing.
function signalNumber(signal: string): number {
  const os = (process as unknown as { getBuiltinModule?(id: "node:os"): typeof import("node:os") }).getBuiltinModule?.("node:os");
  return os?.constants.signals[signal as NodeJS.Signals] ?? LINUX_SIGNAL_NUMBERS[signal] ?? 0;
}

const LINUX_SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGUSR2: 12, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

export function createNodeRuntime(): Runtime {
  const runtime = new Runtime(nodeHost);
  process.on("exit", (code) => runtime.drainAtExit(code));
  return runtime;
}
