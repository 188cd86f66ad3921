// wasm-atexit/pyodide: Python's own `atexit` module, in Pyodide, on the
// shared stack (SPEC G10). Pyodide never finalises its interpreter, so
// without this, nothing Python registers ever runs.
//
// Python is one guest: each `atexit.register` in Python becomes one guest
// registration, of a two-function Wasm trampoline whose table entry calls
// back into Python with a token. The registrations therefore take their
// place in the one LIFO order, count against the guest's quota, run at
// every exit and go with `dispose(guest)`, exactly as a C guest's do.

import { createGuest, dispose, type Guest, type GuestOptions } from "./index.js";
import { ERR_DISPOSED, ERR_QUOTA, kindOf } from "./errors.js";
import { attachTrampoline, sharedRuntime } from "./trampoline.js";

/** What linkPyodide needs of a Pyodide instance (from `loadPyodide()`). */
export interface PyodideLike {
  runPython(code: string): unknown;
}

/** A Python exit handler that raised: its report is CPython's own text, traceback included. */
class PythonHandlerError extends Error {
  override name = "PythonError";
  constructor(report: string) {
    super(report);
    this.stack = report.trimEnd();
  }
}

// Installs the shared-stack `atexit` into one interpreter. `host` is JS:
// register(token) → handle or error code, unregister(handle), refused(code).
// Returns the dispatcher the trampoline calls with a token: None when the
// handler ran, an int when it raised SystemExit (an exit request, SPEC R10),
// a str (CPython's report) when it raised anything else.
const INSTALL = String.raw`
def _wasm_atexit_install(host, guest_name):
    import atexit, sys, traceback

    builtin = {name: getattr(atexit, name) for name in ("register", "unregister", "_ncallbacks", "_clear", "_run_exitfuncs")}
    entries = {}  # token -> [func, args, kwargs, handle, visible], oldest first
    next_token = 1

    def flush():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass

    def report(func, exc):
        # As CPython's atexit reports a raising callback, without our frame.
        return f"Exception ignored in atexit callback {func!r}:\n" + "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))

    def add(func, args, kwargs, visible):
        nonlocal next_token
        token = next_token
        next_token += 1
        handle = host.register(token)
        if handle <= 0:
            host.refused(handle)
        entries[token] = [func, args, kwargs, handle, visible]

    def call(token):
        entry = entries.pop(token, None)
        if entry is None:
            return None
        func, args, kwargs = entry[0], entry[1], entry[2]
        try:
            func(*args, **kwargs)
        except SystemExit as exc:
            code = exc.code
            if code is None:
                return 0
            if isinstance(code, int):
                return code
            print(code, file=sys.stderr)
            return 1
        except BaseException as exc:
            return report(func, exc)
        finally:
            flush()
        return None

    def register(func, /, *args, **kwargs):
        if not callable(func):
            raise TypeError("the first argument must be callable")
        add(func, args, kwargs, True)
        return func

    def unregister(func, /):
        for token, entry in list(entries.items()):
            if entry[4] and entry[0] == func:
                host.unregister(entry[3])
                del entries[token]
        builtin["unregister"](func)

    def _ncallbacks():
        return sum(1 for entry in entries.values() if entry[4]) + builtin["_ncallbacks"]()

    def _clear():
        for token, entry in list(entries.items()):
            if entry[4]:
                host.unregister(entry[3])
                del entries[token]
        builtin["_clear"]()

    def _run_exitfuncs():
        # Python's own handlers, newest first, each once, now.
        for token in reversed(list(entries)):
            entry = entries.get(token)
            if entry is None or not entry[4]:
                continue
            host.unregister(entry[3])
            result = call(token)
            if isinstance(result, str):
                print(result, end="", file=sys.stderr)
                flush()
        builtin["_run_exitfuncs"]()

    for function in (register, unregister, _ncallbacks, _clear, _run_exitfuncs):
        function.__doc__ = builtin[function.__name__].__doc__
        setattr(atexit, function.__name__, function)
    atexit._wasm_atexit_guest = guest_name
    # What Python registered before the link runs once, where the link stands.
    if builtin["_ncallbacks"]():
        add(builtin["_run_exitfuncs"], (), {}, False)
    return call

_wasm_atexit_install
`;

/**
 * Puts Python's `atexit` of this Pyodide on the shared stack, as a guest of
 * its own (default name "python"). From then on `atexit.register(f, *args,
 * **kwargs)`, `unregister`, `_ncallbacks`, `_clear` and `_run_exitfuncs`
 * keep CPython's meaning; the handlers run newest first among everyone
 * else's at every exit, and `dispose(guest)` runs them now.
 * Handlers Python registered before the link run once, at the link's place.
 */
export function linkPyodide(pyodide: PyodideLike, options: GuestOptions = {}): Guest {
  if (typeof pyodide !== "object" || pyodide === null || typeof (pyodide as Partial<PyodideLike>).runPython !== "function") {
    const got = typeof pyodide === "object" && pyodide !== null ? "an object without runPython" : kindOf(pyodide);
    throw new TypeError(`wasm-atexit: linkPyodide: pyodide must be what loadPyodide() resolves to, got ${got}`);
  }
  const linked = pyodide.runPython(`getattr(__import__("atexit"), "_wasm_atexit_guest", None)`);
  if (typeof linked === "string") throw new Error(`wasm-atexit: linkPyodide: this Pyodide is already linked, as guest "${linked}"`);
  const guest = createGuest({ name: "python", ...options });
  const runtime = sharedRuntime();
  let dispatch: ((token: number) => unknown) | undefined;
  const register = attachTrampoline(guest, (token) => {
    const outcome = dispatch!(token);
    if (typeof outcome === "number") throw runtime.exitRequest(outcome);
    if (typeof outcome === "string") throw new PythonHandlerError(outcome);
  });
  const { unregister } = guest.imports.atexit;
  const host = {
    register,
    unregister: (handle: number) => unregister(handle),
    refused: (code: number) => {
      const why =
        code === ERR_QUOTA ? `has ${guest.quota} handlers pending, its quota`
        : code === ERR_DISPOSED ? "was disposed of"
        : "cannot register: the core is out of memory";
      throw new RangeError(`wasm-atexit: atexit.register: guest "${guest.name}" ${why}`);
    },
  };
  const install = pyodide.runPython(INSTALL) as (host: object, name: string) => (token: number) => unknown;
  try {
    dispatch = install(host, guest.name);
  } catch (err) {
    dispose(guest, { run: false });
    throw err;
  } finally {
    (install as { destroy?: () => void }).destroy?.();
  }
  return guest;
}
