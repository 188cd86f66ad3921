// The Node.js host (Bun runs it too): the mechanics shutdown.ts's policy
// needs. The stack is drained on the process's (or worker's) `exit` event,
// and with awaiting when the program runs out of work (`beforeExit`); the
// exit function is process.exit; signals are process listeners, shared
// with the other exit libraries of exit-libraries.ts.

import type { HandlerScope, ScopeCarrier } from "./exit-request.js";
import { checkExitCode } from "./errors.js";
import { applicationListeners, holdDuringDrain, ours, releaseHeld, wrapExitLibraries } from "./exit-libraries.js";
import type { Host } from "./shutdown.js";

type ProcessExit = (code?: number | string | null) => never;

// process.exit as it was before a drain replaced it.
let realExit: ProcessExit | undefined;
let carrier: ScopeCarrier | undefined | null = null;

interface NodeProcess {
  getBuiltinModule?<T>(id: string): T;
  reallyExit(code: number): never;
  getActiveResourcesInfo?(): string[];
}
// Read when used, never at import: this module is bundled for browsers too.
const node = (): NodeProcess => process as unknown as NodeProcess;

export const nodeHost: Host = {
  exitCode: () => Number(process.exitCode ?? 0),
  setExitCode: (code) => {
    process.exitCode = code;
  },
  exit: (code) => (realExit ?? process.exit).call(process, code),
  exitNow(code) {
    checkExitCode("exitNow", code);
    // Ends the process (or the worker) without emitting `exit`: Node's own
    // process.exit calls it after the event.
    return node().reallyExit(code);
  },
  tracing: () => process.env.WASM_ATEXIT_TRACE === "1",
  replaceExit(exit) {
    realExit = process.exit as ProcessExit;
    const original = realExit;
    process.exit = ((code?: number | string | null) => exit(code === undefined || code === null ? undefined : Number(code))) as typeof process.exit;
    return () => {
      process.exit = original;
      realExit = undefined;
    };
  },
  // Created when an awaited drain first meets an async function: an
  // AsyncLocalStorage makes every later promise a little dearer, so a
  // program whose handlers are not async never pays for it.
  scopeCarrier() {
    if (carrier === null) {
      const hooks = node().getBuiltinModule?.<typeof import("node:async_hooks")>("node:async_hooks");
      const storage = hooks && new hooks.AsyncLocalStorage<HandlerScope>();
      if (!hooks || !storage) return (carrier = undefined);
      // Node, with the storage's hooks on, runs a promise's reaction with
      // that promise as the current async resource; Deno and Bun do not.
      // Probed once, in a reaction of its own, before any handler's await.
      let reactionsKnown = false;
      storage.run({ live: false }, () => {
        void Promise.resolve().then(() => (reactionsKnown = hooks.executionAsyncResource() instanceof Promise));
      });
      carrier = {
        run: (scope, body) => storage.run(scope, body),
        current: () => storage.getStore(),
        inPromiseJob: () => !reactionsKnown || hooks.executionAsyncResource() instanceof Promise,
      };
    }
    return carrier;
  },
  listenForSignals(signals, handler) {
    const listeners = new Map<string, () => void>();
    for (const signal of signals) {
      const listener = ours(() => {
        // Another listener of the application's: the signal is its to handle.
        if (applicationListeners(signal) > 0) return;
        holdDuringDrain(signal);
        handler(signal);
      });
      try {
        // First, so that it sees every listener, `once` ones included,
        // before any has been called and removed.
        process.prependListener(signal as NodeJS.Signals, listener);
      } catch {
        continue; // a signal this platform does not have
      }
      listeners.set(signal, listener);
      wrapExitLibraries(signal);
    }
    // Exit libraries that start listening later are held back as well.
    const onNewListener = ours((event: string | symbol) => {
      if (typeof event === "string" && listeners.has(event)) queueMicrotask(() => wrapExitLibraries(event));
    });
    process.on("newListener", onNewListener);
    return () => {
      process.off("newListener", onNewListener);
      for (const [signal, listener] of listeners) process.off(signal, listener);
      listeners.clear();
    };
  },
  signalCode: (signal) => 128 + signalNumber(signal),
  raise(signal) {
    if (!releaseHeld(signal)) process.kill(process.pid, signal);
  },
  onEnd(handler) {
    process.on("exit", (code) => handler(code));
  },
  onIdle(handler) {
    // First among beforeExit listeners, to count what keeps the loop alive
    // before any of the application's has run; the decision waits for them
    // all (a microtask runs once the event has been emitted). A promise's
    // reaction, not queueMicrotask: that one makes an async resource, a
    // fifth of a millisecond in a process that has not used one yet.
    process.prependListener("beforeExit", () => {
      const before = activeResources();
      void Promise.resolve().then(() => handler(() => activeResources() > before));
    });
  },
  onFatalError(handler) {
    // Only watches: an uncaught error ends the program unless the
    // application listens for it.
    process.on("uncaughtExceptionMonitor", (err) => {
      if (applicationListeners("uncaughtException") === 0) handler(err);
    });
  },
  catchUncaught(handler) {
    const listener = ours((err: unknown) => {
      // Beside a listener of the application's, the application decides.
      if (applicationListeners("uncaughtException") === 0) handler(err);
    });
    const onRejection = ours((reason: unknown) => {
      if (applicationListeners("unhandledRejection") === 0) handler(reason);
    });
    process.on("uncaughtException", listener);
    process.on("unhandledRejection", onRejection);
    return () => {
      process.off("uncaughtException", listener);
      process.off("unhandledRejection", onRejection);
    };
  },
};

function activeResources(): number {
  return node().getActiveResourcesInfo?.().length ?? 0;
}

// os.constants.signals, read when a signal comes rather than importing
// node:os at start-up. getBuiltinModule is there on every host this runs
// on: Node from 20.16 (the package needs 20.19), Deno 2.9 and Bun 1.4 (as
// CI installs them: deno@2, bun@1), whose tables hold every signal of
// EXIT_SIGNALS (tests/hosts.test.mjs checks 128 + SIGTERM's number on each).
function signalNumber(signal: string): number {
  const os = node().getBuiltinModule?.<typeof import("node:os")>("node:os");
  return os?.constants.signals[signal as NodeJS.Signals] ?? 0;
}

