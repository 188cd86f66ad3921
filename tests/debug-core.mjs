// Preloaded (node --import) by debug-core.test.mjs: makes the package load
// the debug core, whose assertions check the bindings' side of the core's
// protocol (bindings/core.ts). A failed assertion throws its message.
import { readFileSync } from "node:fs";

globalThis[Symbol.for("wasm-atexit.debug-core")] = {
  bytes: readFileSync(new URL("../build/core.debug.wasm", import.meta.url)),
  imports: {
    env: {
      abort(message) {
        // An AssemblyScript string: UTF-16, its byte length in the 4 bytes before it.
        const { memory } = globalThis[Symbol.for("wasm-atexit.runtime")].loaded;
        const bytes = new Uint32Array(memory.buffer, message - 4, 1)[0];
        const text = String.fromCharCode(...new Uint16Array(memory.buffer, message, bytes >> 1));
        throw new Error(`wasm-atexit: the core's assertion failed: ${text}`);
      },
    },
  },
};
