// The wasm-atexit command: runs a WASI program, with libraries linked to it,
// so that every exit handler — the program's, its libraries', the host's —
// runs in one LIFO order when it ends, and ends with the program's code.
// A user's mistake gets one line on stderr, never a stack trace.

import { WasiError, runWasi } from "./index.js";
// The runner, which runWasi imports when a program first runs: imported with
// the command, so that Node reads it while it reads the package (SPEC P4).
import "./wasi-run.js";

// Node's modules as getBuiltinModule gives them, not by `import ... from
// "node:fs"`: Node builds an imported builtin's ESM namespace by reading
// every export, node:fs's ReadStream getter too, which loads node:stream,
// milliseconds at every start that a command reading a few files does not
// need (SPEC P4; see `npm run bench`).
const { existsSync, readFileSync, statSync } = process.getBuiltinModule("node:fs");
const { basename, resolve } = process.getBuiltinModule("node:path");
const { pathToFileURL } = process.getBuiltinModule("node:url");
const { parseArgs } = process.getBuiltinModule("node:util");

const USAGE = `Usage: wasm-atexit run <program.wasm> [options] [-- args...]

Runs a WASI command. When it ends, its exit handlers, its libraries' and
those of any --import module run in one last-in-first-out order; then the
command ends with the program's exit code.

Options:
  --link name=lib.wasm   link a reactor library, imported by the program as module "name"
  --dir host[::guest]    let the program open a host directory, and nothing outside it, seen as guest (default: host);
                         host:guest works too when the host path has no colon
  --env KEY=VALUE        set an environment variable for the program
  --import module.mjs    load a JavaScript module first (it may register exit handlers)
  --trace                print each exit handler as it runs: which, how long, how it ended
  -h, --help             print this
  -V, --version          print the version`;

class UsageError extends Error {}

const OPTIONS = {
  link: { type: "string", multiple: true },
  dir: { type: "string", multiple: true },
  env: { type: "string", multiple: true },
  import: { type: "string", multiple: true },
  trace: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

/** What the command line asks for, checked: the program, and what runWasi needs besides its bytes. */
interface Invocation {
  programPath: string;
  link: Record<string, Uint8Array>;
  preopens: Record<string, string>;
  env: Record<string, string>;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals, programArgs } = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
    return 0;
  }
  const { programPath, link, preopens, env } = validate(values, positionals);
  if (values.trace) process.env.WASM_ATEXIT_TRACE = "1";
  const program = readWasm(programPath);
  for (const module of values.import ?? []) await importModule(module);
  return runWasi(program, { args: [programPath, ...programArgs], env, preopens, link, name: basename(programPath) });
}

/** The options, the positionals before `--` (the command and the program), and those after it (the program's arguments). */
function parse(argv: string[]): { values: Values; positionals: string[]; programArgs: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, tokens: true });
  } catch (err) {
    // parseArgs' own messages may span lines (an option whose value starts with "-"): a mistake is one line.
    throw new UsageError((err as Error).message.replace(/\s*\n\s*/g, " "));
  }
  const terminator = parsed.tokens.find((token) => token.kind === "option-terminator")?.index ?? Infinity;
  const positionals: string[] = [];
  const programArgs: string[] = [];
  for (const token of parsed.tokens) {
    if (token.kind === "positional") (token.index < terminator ? positionals : programArgs).push(token.value);
  }
  return { values: parsed.values, positionals, programArgs };
}

/** Checks the command and each option's form, in the order given; reads each --link library and checks each --dir. */
function validate(values: Values, positionals: string[]): Invocation {
  const [command, programPath, ...extra] = positionals;
  if (command !== "run") throw new UsageError(command === undefined ? "no command given" : `unknown command "${command}"`);
  if (programPath === undefined) throw new UsageError("run needs a program: wasm-atexit run <program.wasm>");
  if (extra.length > 0) throw new UsageError(`unexpected "${extra.join(" ")}": the program's arguments go after --`);
  return { programPath, link: libraries(values.link), preopens: directories(values.dir), env: environment(values.env) };
}

function libraries(specs: string[] = []): Record<string, Uint8Array> {
  const link = byName<Uint8Array>();
  for (const spec of specs) {
    const [name, path] = pair(spec, "=");
    if (name === "") throw new UsageError(`--link needs the import module's name before "=", got "${spec}"`);
    if (!path) throw new UsageError(`--link takes name=lib.wasm, got "${spec}"`);
    link[name] = readWasm(path);
  }
  return link;
}

function directories(specs: string[] = []): Record<string, string> {
  const preopens = byName<string>();
  for (const spec of specs) {
    // "::" first, as wasmtime spells it, so that a host path may hold ":".
    const [host, guest] = spec.includes("::") ? pair(spec, "::") : pair(spec, ":");
    if (!host) throw new UsageError(`--dir takes host[::guest], got "${spec}"`);
    checkDirectory(host);
    preopens[guest ?? host] = host;
  }
  return preopens;
}

function environment(specs: string[] = []): Record<string, string> {
  const env = byName<string>();
  for (const spec of specs) {
    const [key, value] = pair(spec, "=");
    if (!key || value === undefined) throw new UsageError(`--env takes KEY=VALUE, got "${spec}"`);
    env[key] = value;
  }
  return env;
}

/** Loads an --import module, which may register exit handlers, before the program runs. */
async function importModule(module: string): Promise<void> {
  const path = resolve(module);
  if (!existsSync(path)) throw new WasiError(`cannot import ${module}: no such file`);
  try {
    await import(pathToFileURL(path).href);
  } catch (err) {
    throw new WasiError(`cannot import ${module}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  }
}

/**
 * An object keyed by names the user gives: any string is a key of its own,
 * "__proto__", "constructor" and "toString" included, never a property
 * inherited from Object.prototype (or, for "__proto__", the prototype itself).
 */
function byName<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Splits at the first `separator`: ["a", "b=c"] for "a=b=c"; [spec, undefined] without one. */
function pair(spec: string, separator: string): [string, string | undefined] {
  const at = spec.indexOf(separator);
  return at < 0 ? [spec, undefined] : [spec.slice(0, at), spec.slice(at + separator.length)];
}

function checkDirectory(path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new WasiError(`--dir ${path}: no such directory`);
  }
  if (!stat.isDirectory()) throw new WasiError(`--dir ${path}: not a directory`);
}

function readWasm(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new WasiError(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`wasm-atexit: ${err.message} (see wasm-atexit --help)`);
      process.exitCode = 2;
    } else if (err instanceof WasiError) {
      console.error(`wasm-atexit: ${err.message}`);
      process.exitCode = 1;
    } else {
      throw err; // not the user's mistake: Node prints the stack
    }
  },
);
