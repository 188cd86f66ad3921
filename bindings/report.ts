// Turning anything a handler throws or returns into a line of text, and
// sending that line where the application wants it (SPEC R9, R14).
//
// Whatever a handler throws may be hostile: a revoked Proxy (on which even
// `instanceof` and Array.isArray throw), an object whose `name`, `stack`,
// `message` or `toString` getter throws. Every read of such a value here is
// guarded, so that reporting a failure can never itself stop a drain.

/** What kind of line a report is: a handler's failure, a notice (deadline, cut short, not awaited), or a trace line. */
export type ReportKind = "failure" | "notice" | "trace";

/** One report: a failure, a notice or a trace line, as `configureReports` hands it to the application. */
export interface Report {
  kind: ReportKind;
  /** The whole text, as it would be written to stderr (a failure's includes the stack). */
  message: string;
  /** What was thrown, for failures. */
  error?: unknown;
}

export interface ReportOptions {
  /**
   * Receives every report instead of stderr, for an application's own
   * logger. Default: each report's message is written with console.error.
   */
  write?: (report: Report) => void;
  /** "all" (default), or "failures" to silence notices and trace lines. */
  level?: "all" | "failures";
}

/** Reads `read()`, or gives `fallback` when that throws. */
function guarded<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

const UNREADABLE = "a value that cannot be inspected (a revoked Proxy, or getters that throw)";

/** Says what a value is, for messages: `42 (a number)`, `null`, `an instance of Map`. Never throws. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "string":
      return `${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)} (a string)`;
    case "number":
    case "bigint":
    case "boolean":
      return `${String(value)} (a ${typeof value})`;
    case "symbol":
      return `${guarded(() => value.toString(), "Symbol()")} (a symbol)`;
    default:
      return guarded(() => {
        if (Array.isArray(value)) return "an array";
        const name = (value as object).constructor?.name;
        return typeof name === "string" && name !== "" && name !== "Object" ? `an instance of ${name}` : "an object";
      }, UNREADABLE);
  }
}

/** The name a report gives a JS handler: `"flush"`, or <anonymous>. Never throws. */
export function handlerName(fn: Function): string {
  const name = guarded(() => fn.name, undefined);
  return typeof name === "string" && name !== "" ? `"${name}"` : "<anonymous>";
}

/**
 * Describes a thrown value: an error's stack (or `name: message`), else what
 * the value is. Only own data and plain getters are read, each guarded.
 */
export function describeThrown(err: unknown): string {
  if (typeof err !== "object" && typeof err !== "function") return `thrown value: ${describe(err)}`;
  if (err === null) return "thrown value: null";
  const stack = guarded(() => (err as { stack?: unknown }).stack, undefined);
  if (typeof stack === "string" && stack !== "") return stack;
  const message = guarded(() => (err as { message?: unknown }).message, undefined);
  if (typeof message === "string") {
    const name = guarded(() => (err as { name?: unknown }).name, undefined);
    return `${typeof name === "string" ? name : "Error"}: ${message}`;
  }
  return `thrown value: ${describe(err)}`;
}

/** The first line of describeThrown, for trace lines. */
export function summarizeThrown(err: unknown): string {
  const text = describeThrown(err);
  const end = text.indexOf("\n");
  return end < 0 ? text : text.slice(0, end);
}

/**
 * Where reports go: stderr by default (one line each, plus the stack of a
 * failure), or the application's writer. A writer that throws, or a
 * console.error replaced by one that throws, is not allowed to stop a drain:
 * the line then goes straight to stderr.
 */
export class Reports {
  private write: ((report: Report) => void) | undefined;
  private failuresOnly = false;

  configure(options: ReportOptions = {}): void {
    const { write, level = "all" } = options;
    if (write !== undefined && typeof write !== "function") {
      throw new TypeError(`wasm-atexit: configureReports: write must be a function, got ${describe(write)}`);
    }
    if (level !== "all" && level !== "failures") {
      throw new TypeError(`wasm-atexit: configureReports: level must be "all" or "failures", got ${describe(level)}`);
    }
    this.write = write;
    this.failuresOnly = level === "failures";
  }

  failure(handler: string, err: unknown): void {
    this.send({ kind: "failure", message: `wasm-atexit: exit handler ${handler} failed:\n${describeThrown(err)}`, error: err });
  }

  /** An uncaught error that ends the program once the handlers have run (SPEC H4). */
  uncaught(err: unknown): void {
    this.send({ kind: "failure", message: `wasm-atexit: uncaught error; running the exit handlers, then exiting with 1:\n${describeThrown(err)}`, error: err });
  }

  notice(message: string): void {
    if (!this.failuresOnly) this.send({ kind: "notice", message: `wasm-atexit: ${message}` });
  }

  trace(message: string): void {
    if (!this.failuresOnly) this.send({ kind: "trace", message: `wasm-atexit trace: ${message}` });
  }

  private send(report: Report): void {
    try {
      if (this.write) this.write(report);
      else console.error(report.message);
    } catch (err) {
      writeStderr(`${report.message}\n(wasm-atexit: the report writer threw: ${summarizeThrown(err)})\n`);
    }
  }
}

function writeStderr(text: string): void {
  const { process } = globalThis as { process?: { stderr?: { write(text: string): unknown } } };
  guarded(() => process?.stderr?.write(text), undefined);
}
