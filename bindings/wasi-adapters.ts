// The two WASI implementations a program can run under, behind one shape
// (WasiHost): node:wasi, with its --dir sandbox and stdout and stderr that
// block, and @bjorn3/browser_wasi_shim, which the user installs. Part of the
// runner (wasi-run.ts): loaded when a program first runs, not with the
// package (SPEC P4).

import { confine } from "./wasi-fs.js";
import { WasiError, type RunWasiOptions } from "./wasi-options.js";

/** One module's WASI: its `wasi_snapshot_preview1` imports, and how it starts a command or a reactor. */
export interface WasiHost {
  imports: Record<string, unknown>;
  start(instance: object): number | undefined;
  initialize(instance: object): void;
}

/** A fresh WASI for one module, of the implementation `options.wasi` names, with the program's args, env and stdio. */
export function createWasiHost(args: string[], options: RunWasiOptions): Promise<WasiHost> {
  return options.wasi === "browser_wasi_shim" ? shimWasi(args, options) : nodeWasi(args, options);
}

async function nodeWasi(args: string[], options: RunWasiOptions): Promise<WasiHost> {
  const { WASI } = loadNodeWasi();
  const wasi = new WASI({
    version: "preview1",
    args,
    env: options.env ?? {},
    preopens: options.preopens ?? {},
    returnOnExit: true,
    stdout: blockingFd(1),
    stderr: blockingFd(2),
  });
  // Each preopen a sandbox (SPEC W6): node:wasi's own checks let a
  // symbolic link inside a directory lead outside it.
  const sandbox = confine(wasi.wasiImport as Record<string, unknown>, options.preopens ?? {});
  return {
    imports: sandbox.imports,
    start: (instance) => {
      sandbox.bind(instance);
      return wasi.start(instance);
    },
    initialize: (instance) => {
      sandbox.bind(instance);
      wasi.initialize(instance);
    },
  };
}

/**
 * The fd the program writes its stdout (1) or stderr (2) to. Once JS code
 * has written to a pipe, Node has made it non-blocking, and the program's
 * plain write() would get EAGAIN on a slow reader and lose bytes (SPEC W4).
 * A pipe is opened again, as a file description of its own that blocks, so
 * the program writes the same with or without JS output beside it.
 */
const reopened = new Map<number, number>();
function blockingFd(fd: number): number {
  const { fstatSync, openSync } = process.getBuiltinModule("node:fs");
  let again = reopened.get(fd);
  if (again === undefined) {
    try {
      again = fstatSync(fd).isFIFO() ? openSync(`/proc/self/fd/${fd}`, "w") : fd;
    } catch {
      again = fd; // no /proc: the fd as it is
    }
    reopened.set(fd, again);
  }
  return again;
}

// node:wasi announces itself as experimental when first loaded; the
// program's stderr belongs to the program, so that one warning is held back.
function loadNodeWasi(): typeof import("node:wasi") {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).startsWith("WASI is an experimental feature")) {
      (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
    }
  }) as typeof process.emitWarning;
  try {
    // Not import(): a bundler for the browser would try to resolve it.
    return process.getBuiltinModule("node:wasi");
  } finally {
    process.emitWarning = emitWarning;
  }
}

async function shimWasi(args: string[], options: RunWasiOptions): Promise<WasiHost> {
  if (options.preopens && Object.keys(options.preopens).length > 0) {
    throw new WasiError("preopens need node:wasi: browser_wasi_shim has no access to host directories");
  }
  // Imported when used, not with the package: one module fewer to load at start-up (SPEC P4).
  const { importOptional } = await import("./import-optional.js");
  const shim = (await importOptional("@bjorn3/browser_wasi_shim")) as typeof import("@bjorn3/browser_wasi_shim");
  const env = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
  const fds = [
    new shim.OpenFile(new shim.File([])),
    new shim.ConsoleStdout((bytes) => process.stdout.write(bytes)),
    new shim.ConsoleStdout((bytes) => process.stderr.write(bytes)),
  ];
  const wasi = new shim.WASI(args, env, fds, { debug: false });
  return {
    imports: wasi.wasiImport as unknown as Record<string, unknown>,
    start: (instance) => wasi.start(instance as Parameters<typeof wasi.start>[0]),
    initialize: (instance) => wasi.initialize(instance as Parameters<typeof wasi.initialize>[0]),
  };
}
