// Builds the test guests. AssemblyScript ones with the project's own asc,
// at test time; C and Rust ones (and the demo's C program) with Debian's
// clang and rustc (see .ci/run), whose outputs are committed in
// tests/guests/prebuilt/ and demo/prebuilt/ so that the tests and the demo
// run on machines without those toolchains. tests/guests.test.mjs
// checks, wherever the toolchains are, that the committed files are exactly
// what the sources build to.
//
//   node tests/guests/build.mjs    rewrites tests/guests/prebuilt/ and demo/prebuilt/
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const here = (path) => join(root, "tests", "guests", path);

// clang's wasm32 driver runs wasm-opt over what it links whenever one is
// on PATH (Debian's binaryen, or npm's, which asc depends on) and the link
// step is given an -O level. So each guest is compiled with -O2 -c and
// linked with no -O level: its bytes are the same whatever else is on PATH.
// Paths are relative to the repository root.
const clangBuild = (driver, source, { model, compile = [], link = [] }) => (out, object) => [
  [driver, ["--target=wasm32-wasi", "-O2", "-c", ...compile, source, "-o", object]],
  [driver, ["--target=wasm32-wasi", `-mexec-model=${model}`, "-s", object, ...link, "-o", out]],
];

const clang = (model, source) => clangBuild("clang", source, { model, compile: ["-Iinclude"], link: ["-Wl,--export-table"] });

// C++ modules as a user builds them: no source change, libwasm-atexit on
// the link line, and for a command --export-table (docs/ABI.md says why).
const clangxx = (model, source) =>
  clangBuild("clang++", source, {
    model,
    compile: ["-fno-exceptions"],
    link: ["-L", "lib/wasm32-wasi", "-lwasm-atexit", ...(model === "command" ? ["-Wl,--export-table"] : [])],
  });

// Rust libraries, with Debian's rustc (the rustup one first on PATH has no
// wasm targets). rustc links with wasm-ld itself and runs no wasm-opt.
const rustc = (target, source) => (out) => [[
  "/usr/bin/rustc",
  ["--edition", "2021", "--target", target, "--crate-type", "cdylib", "-O", "-C", "strip=symbols", "-C", "link-arg=--export-table", source, "-o", out],
]];

// Emscripten modules as a user builds them (README, "Emscripten"): a
// MODULARIZE factory for Node with its filesystem and FS exported, in the
// three builds whose exits differ. NODEJS_CATCH_EXIT=0 and
// NODEJS_CATCH_REJECTION=0 keep the glue's own process listeners, which
// turn an uncaught error into exit code 7, out of the program.
export const EMCC_FLAGS = ["-O2", "-sMODULARIZE", "-sENVIRONMENT=node", "-sFORCE_FILESYSTEM=1", "-sEXPORTED_RUNTIME_METHODS=FS",
  "-sNODEJS_CATCH_EXIT=0", "-sNODEJS_CATCH_REJECTION=0", "-fno-exceptions"];
const EMSCRIPTEN_SOURCE = "tests/guests/emscripten/exits.cpp";

/** The three Emscripten builds of EMSCRIPTEN_SOURCE, by name: each is <name>.cjs (the factory) and <name>.wasm in tests/guests/prebuilt/. */
export const EMSCRIPTEN = {
  "emcc-default": [],
  "emcc-exit-runtime": ["-sEXIT_RUNTIME=1"],
  "emcc-linked": ["-L", "lib/wasm32-wasi", "-lwasm-atexit", "-sERROR_ON_UNDEFINED_SYMBOLS=0", "-sEXPORTED_FUNCTIONS=_fflush"],
};

/**
 * Builds an Emscripten module into `dir` as <name>.cjs and <name>.wasm,
 * from the repository root. Debian's emcc 3.1.6 runs its JS optimizer at
 * -O2, which needs acorn from Debian's node modules (NODE_PATH). Its
 * output changes when npm's binaryen (node_modules/.bin, where npm scripts
 * put it on PATH) is found before Debian's, so emcc runs without it.
 */
export function buildEmscripten(name, dir) {
  const out = join(dir, `${name}.cjs`);
  execFileSync("em++", [...EMCC_FLAGS, ...EMSCRIPTEN[name], EMSCRIPTEN_SOURCE, "-o", out], {
    cwd: root,
    env: { ...process.env, PATH: pathWithoutNodeModules(), NODE_PATH: "/usr/share/nodejs" },
    stdio: "pipe", // its warning of the linked build's atexit.register_call import is expected
  });
  return { glue: readFileSync(out), wasm: readFileSync(join(dir, `${name}.wasm`)) };
}

/** PATH without node_modules folders: no npm-installed tool is taken for Debian's. */
const pathWithoutNodeModules = () =>
  (process.env.PATH ?? "").split(":").filter((dir) => !dir.includes("node_modules")).join(":");

/** The commands that build each native guest, writing to `out`. */
export const NATIVE = {
  c: {
    tool: "clang",
    source: "tests/guests/c/logger.c",
    prebuilt: "tests/guests/prebuilt/logger-c.wasm",
    command: clang("reactor", "tests/guests/c/logger.c"),
  },
  "c WASI program": {
    tool: "clang",
    source: "tests/guests/c/program.c",
    prebuilt: "tests/guests/prebuilt/program-c.wasm",
    command: clang("command", "tests/guests/c/program.c"),
  },
  "c WASI library": {
    tool: "clang",
    source: "tests/guests/c/library.c",
    prebuilt: "tests/guests/prebuilt/library-c.wasm",
    command: clang("reactor", "tests/guests/c/library.c"),
  },
  "c++ library": {
    tool: "clang++",
    source: "tests/guests/cxx/libdb.cpp",
    prebuilt: "tests/guests/prebuilt/libdb-cxx.wasm",
    command: clangxx("reactor", "tests/guests/cxx/libdb.cpp"),
  },
  "c++ program": {
    tool: "clang++",
    source: "tests/guests/cxx/app.cpp",
    prebuilt: "tests/guests/prebuilt/app-cxx.wasm",
    command: clangxx("command", "tests/guests/cxx/app.cpp"),
  },
  "c program with atexit()": {
    tool: "clang",
    source: "tests/guests/c/handlers.c",
    prebuilt: "tests/guests/prebuilt/handlers-c.wasm",
    command: clangBuild("clang", "tests/guests/c/handlers.c", {
      model: "command",
      link: ["-L", "lib/wasm32-wasi", "-lwasm-atexit", "-Wl,--export-table"],
    }),
  },
  "c program printing from every kind of handler": {
    tool: "clang",
    source: "tests/guests/c/goodbye.c",
    prebuilt: "tests/guests/prebuilt/goodbye-c.wasm",
    command: clangBuild("clang", "tests/guests/c/goodbye.c", {
      model: "command",
      compile: ["-Iinclude"],
      link: ["-L", "lib/wasm32-wasi", "-lwasm-atexit", "-Wl,--export-table"],
    }),
  },
  "c file program": {
    tool: "clang",
    source: "tests/guests/c/files.c",
    prebuilt: "tests/guests/prebuilt/files-c.wasm",
    command: clang("command", "tests/guests/c/files.c"),
  },
  "demo C program": {
    tool: "clang",
    source: "demo/counter.c",
    prebuilt: "demo/prebuilt/counter-c.wasm",
    command: clang("command", "demo/counter.c"),
  },
  rust: {
    tool: "/usr/bin/rustc",
    source: "tests/guests/rust/logger.rs",
    prebuilt: "tests/guests/prebuilt/logger-rust.wasm",
    command: rustc("wasm32-unknown-unknown", "tests/guests/rust/logger.rs"),
  },
  "rust WASI library": {
    tool: "/usr/bin/rustc",
    source: "tests/guests/rust/goodbye.rs",
    prebuilt: "tests/guests/prebuilt/goodbye-rust.wasm",
    command: rustc("wasm32-wasi", "tests/guests/rust/goodbye.rs"),
  },
};

export function hasTool(tool) {
  return spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Builds a native guest into `out`, from the repository root, so paths in
 * the build are the same everywhere; `env` is the tools' environment.
 */
export function buildNative(language, out, env = process.env) {
  const work = mkdtempSync(join(tmpdir(), "wasm-atexit-native-"));
  try {
    for (const [command, args] of NATIVE[language].command(out, join(work, "guest.o"))) {
      execFileSync(command, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return readFileSync(out);
}

/** The committed build of a native guest. */
export const prebuilt = (language) => readFileSync(join(root, NATIVE[language].prebuilt));

/** Compiles an AssemblyScript guest with the project's asc; returns its bytes. */
export function buildAssemblyScript(name, extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), "wasm-atexit-guest-"));
  const out = join(dir, `${name}.wasm`);
  try {
    execFileSync(
      process.execPath,
      [join(root, "node_modules", "assemblyscript", "bin", "asc.js"), here(`assemblyscript/${name}.ts`),
        "--exportTable", "--runtime", "stub", "-O3", "-o", out, ...extraArgs],
      // Not from the root, whose asconfig.json would add the core's entry.
      { cwd: here("."), stdio: ["ignore", "inherit", "inherit"] },
    );
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const language of Object.keys(NATIVE)) {
    buildNative(language, join(root, NATIVE[language].prebuilt));
    console.log(`built ${NATIVE[language].prebuilt}`);
  }
  for (const name of Object.keys(EMSCRIPTEN)) {
    buildEmscripten(name, here("prebuilt"));
    console.log(`built tests/guests/prebuilt/${name}.cjs and .wasm`);
  }
}
