// Builds lib/wasm32-wasi/libwasm-atexit.a (SPEC G8) from
// include/wasm_atexit_libc.c with Debian's clang and llvm-ar. The archive
// is committed, so that users and machines without clang get it; the tests
// rebuild it wherever clang is and check that it is byte for byte the same.
//
//   node scripts/build-lib.mjs [out.a]    default: lib/wasm32-wasi/libwasm-atexit.a
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
export const LIBRARY = "lib/wasm32-wasi/libwasm-atexit.a";

export function buildLibrary(out = join(root, LIBRARY)) {
  const work = mkdtempSync(join(tmpdir(), "wasm-atexit-lib-"));
  try {
    const object = join(work, "wasm_atexit_libc.o");
    // Relative paths and a fixed working directory keep the object file
    // free of this machine's paths.
    execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-c", "include/wasm_atexit_libc.c", "-o", object], { cwd: root });
    mkdirSync(dirname(out), { recursive: true });
    rmSync(out, { force: true });
    // D: deterministic (no timestamps, owners or modes).
    execFileSync("llvm-ar", ["rcsD", out, object], { cwd: work });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(buildLibrary(process.argv[2] ? resolve(process.argv[2]) : undefined));
}
