// wasm-atexit: one last-in-first-out stack of exit handlers per thread,
// shared by JavaScript code and by every Wasm module loaded beside it.
//
// Every copy of this package loaded in a thread (ESM and CommonJS, two
// versions side by side) uses the runtime of the first one, found under a
// global symbol, so there is one stack and one exit listener (SPEC R13).

import * as codes from "./errors.js";
import type { Guest, GuestOptions } from "./guests.js";
import { RUNTIME } from "./globals.js";
import { createRuntime } from "./hosts.js";
import type { ReportOptions } from "./report.js";
import type { DisposeOptions, ExitCallback, Handler, InstantiateOptions, Instantiated, Remover, Runtime, WasmSource } from "./runtime.js";
import type { ShutdownOptions, SignalOptions } from "./shutdown.js";
import { runWasi as runWasiOn, type RunWasiOptions } from "./wasi.js";

export type { AtexitImports, Guest, GuestOptions } from "./guests.js";
export { DEFAULT_QUOTA } from "./guests.js";
export type { Report, ReportKind, ReportOptions } from "./report.js";
export type { DisposeOptions, ExitCallback, Handler, InstantiateOptions, Instantiated, Remover, WasiLike, WasmSource } from "./runtime.js";
export type { ShutdownOptions, SignalOptions } from "./shutdown.js";
export { DEFAULT_SHUTDOWN_TIMEOUT, EXIT_SIGNALS } from "./shutdown.js";
export { WasiError, type RunWasiOptions } from "./wasi.js";

/** The status codes a guest's `atexit` functions return (docs/ABI.md). */
export const errorCodes = Object.freeze({
  OK: codes.OK,
  NO_MEMORY: codes.ERR_NO_MEMORY,
  NOT_PENDING: codes.ERR_NOT_PENDING,
  NOT_OWNER: codes.ERR_NOT_OWNER,
  QUOTA: codes.ERR_QUOTA,
  DISPOSED: codes.ERR_DISPOSED,
  BAD_INDEX: codes.ERR_BAD_INDEX,
  BAD_SIGNATURE: codes.ERR_BAD_SIGNATURE,
  NO_TABLE: codes.ERR_NO_TABLE,
});

// The first copy of the package loaded in this thread creates the runtime
// and installs its exit listener; every later copy uses that one. Its Wasm
// core is loaded when something first needs it (stack.ts), not here.
const runtime = ((globalThis as Record<symbol, unknown>)[RUNTIME] ??= createRuntime()) as Runtime;

/**
 * Queues `fn(...args)` to run when the program exits; returns `fn` itself.
 * Handlers run last-in-first-out; the same function registered twice runs
 * twice. Arguments are kept as given (objects by reference); Python's keyword
 * arguments are a trailing options object.
 *
 * @example
 * function goodbye(name: string, adjective: string) {
 *   console.log(`Goodbye, ${name}, it was ${adjective} to meet you.`);
 * }
 * register(goodbye, "Donny", "nice");
 * @throws {TypeError} when `fn` is not a function.
 * @throws {RangeError} when the core cannot grow its memory; nothing is registered.
 */
export const register: <F extends Handler>(fn: F, ...args: Parameters<F>) => F = runtime.register;

/**
 * Removes every pending registration of `fn` (the same function object),
 * including `onExit` ones; does nothing when there is none. Costs
 * O(registrations of `fn`), not a scan of the stack, once the first call
 * has indexed what is pending.
 *
 * @example
 * register(flush);
 * unregister(flush); // flush will not run at exit
 * @throws {TypeError} when `fn` is not a function.
 */
export const unregister: (fn: Handler) => void = runtime.unregister;

/**
 * Queues `cb(code, signal, reason)` for exit: the exit code, the signal's
 * name or `null`, and the uncaught exception or unhandled rejection that
 * ends the program, if one does (SPEC H4). Returns a remover that takes this one registration back; calling it
 * twice is harmless, and it is `Disposable`, so `using` works.
 *
 * @example
 * const remove = onExit((code, signal) => console.log("exiting with", code, signal));
 * remove(); // changed our mind
 * @throws {TypeError} when `cb` is not a function.
 */
export const onExit: (cb: ExitCallback) => Remover = runtime.onExit;

/**
 * Runs every pending handler now, newest first, each at most once. After all
 * have had their turn, throws the last error a handler threw, if any. A
 * handler calling `process.exit(n)` ends only itself; the process then exits
 * with `n` once the drain is over.
 *
 * @example
 * register(() => console.log("closing"));
 * runExitHandlers(); // prints "closing"; nothing is left to run at exit
 */
export const runExitHandlers: () => void = runtime.runExitHandlers;

/**
 * Ends the program gracefully (SPEC H2): runs every pending handler, newest
 * first, awaiting each one's promise before the next, under one deadline for
 * the whole drain (`timeout` ms, default DEFAULT_SHUTDOWN_TIMEOUT, 25 s); a
 * handler still running then is reported and not waited for. Then exits
 * with `code` (default: process.exitCode, or 0).
 *
 * @example
 * register(async () => { await db.close(); });
 * await shutdown(0, { timeout: 10_000 });
 * @throws {TypeError | RangeError} when `code` or `timeout` is not an integer in range.
 */
export const shutdown: (code?: number, options?: ShutdownOptions) => Promise<never> = runtime.shutdown;

/**
 * Opt in to signals (SPEC H1): on SIGINT, SIGTERM, SIGHUP and the other
 * signals of EXIT_SIGNALS (or `signals`), drain the stack as `shutdown` does,
 * then re-raise the signal, so the parent sees the real cause. A signal the
 * application listens to itself is left to the application; the listeners
 * of signal-exit, exit-hook and close-with-grace are not the application's.
 * Every call, from every copy of the package, acts as one listener; the
 * shortest `timeout` asked for wins. With `uncaughtErrors: true`, an
 * uncaught error or rejection drains the same way, then exits with 1 (H4).
 * Returns the undo of this call.
 *
 * @example
 * handleSignals({ timeout: 20_000 }); // Kubernetes: SIGTERM, then SIGKILL 30 s later
 * @throws {TypeError | RangeError} when `timeout` or `signals` is wrong.
 */
export const handleSignals: (options?: SignalOptions) => Remover = runtime.handleSignals;

/**
 * Where failures, notices (deadlines, handlers cut short) and trace lines go
 * (SPEC R14): stderr by default; `write` routes each report to the
 * application's logger, and `level: "failures"` silences all but failures.
 *
 * @example
 * configureReports({ write: (report) => logger.error(report.message), level: "failures" });
 * @throws {TypeError} when `write` is not a function or `level` is unknown.
 */
export const configureReports: (options?: ReportOptions) => void = runtime.configureReports;

/**
 * Drops every pending registration, of every owner, without running it.
 *
 * @example
 * clear();
 * count(); // 0
 */
export const clear: () => void = runtime.clear;

/**
 * The number of pending registrations, of every kind and owner.
 *
 * @example
 * register(() => {});
 * count(); // 1
 */
export const count: () => number = runtime.count;

/**
 * Ends the process at once with `code` (default 0), running no exit handler,
 * as Python's `os._exit` does.
 *
 * @example
 * exitNow(3);
 * @throws {TypeError} when `code` is not an integer.
 */
export const exitNow: (code?: number) => never = runtime.exitNow;

/**
 * Instantiates a Wasm module as a guest sharing the exit stack (SPEC G1–G7):
 * links its `atexit` imports to a new owner, instantiates it through
 * @assemblyscript/loader (so AssemblyScript aborts are decoded), attaches its
 * exported function table, and calls its `_initialize` if it has one. With
 * `wasi` (a node:wasi or browser_wasi_shim WASI), the module gets its
 * `wasi_snapshot_preview1` and is initialised through it (SPEC G9). A
 * failed instantiation leaves nothing registered.
 *
 * @example
 * const { exports, guest } = await instantiate(readFileSync("db.wasm"), { env: { log } }, { name: "db" });
 * const lib = await instantiate(readFileSync("libdb.wasm"), {}, { name: "libdb", wasi: new WASI({ version: "preview1" }) });
 * @throws {TypeError | RangeError} when an option is wrong, or the module lacks a build flag it needs;
 *   the module's own LinkError when an import is missing.
 */
export const instantiate: Runtime["instantiate"] = runtime.instantiate;

/**
 * Creates a guest for a module you instantiate yourself: pass
 * `guest.imports` with its imports, then `guest.attach(instance)` before the
 * module registers anything.
 *
 * @example
 * const guest = createGuest({ name: "img", quota: 100 });
 * const instance = new WebAssembly.Instance(module, { ...imports, ...guest.imports });
 * guest.attach(instance);
 */
export const createGuest: (options?: GuestOptions) => Guest = runtime.createGuest;

/**
 * Disposes of a guest before exit (SPEC G5, C's `__cxa_finalize`): its pending
 * handlers run now, newest first, or with `{ run: false }` are dropped; none
 * is ever called after, and the guest can register no more. Throws the last
 * error a handler threw, after all have run.
 *
 * @example
 * dispose(guest);                 // run its handlers now
 * dispose(other, { run: false }); // or drop them
 * @throws {TypeError} when `guest` is not a Guest.
 */
export const dispose: (guest: Guest, options?: DisposeOptions) => void = runtime.dispose;

/**
 * Runs a WASI command, with reactor libraries linked to it, so that every
 * exit handler (the program's, its libraries', the JavaScript code's) runs
 * in one LIFO order when the program ends: on proc_exit from any module, or
 * when main returns (SPEC W1–W3). Resolves to the program's exit code.
 *
 * @example
 * const code = await runWasi(readFileSync("app.wasm"), {
 *   args: ["app", "--flag"], preopens: { "/data": "./data" }, link: { db: readFileSync("libdb.wasm") },
 * });
 * process.exitCode = code;
 * @throws {WasiError} when a module is not Wasm, needs an import nobody provides, or traps.
 */
export const runWasi = (program: WasmSource, options?: RunWasiOptions): Promise<number> => runWasiOn(runtime, program, options);

/** The same functions as one object, so `atexit.register(...)` reads as in Python. */
const atexit = {
  register, unregister, onExit, runExitHandlers, shutdown, handleSignals, configureReports, clear, count, exitNow, instantiate, createGuest,
  dispose, runWasi,
};
export default atexit;
