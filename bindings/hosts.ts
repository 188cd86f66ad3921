// Which host the program runs on (SPEC H3): each drains the same stack on
// its own end-of-program event; the core and the guest ABI are the same.

import { createBrowserRuntime } from "./browser.js";
import { createDenoRuntime } from "./deno.js";
import { createNodeRuntime } from "./node.js";
import type { Runtime } from "./runtime.js";

export function createRuntime(): Runtime {
  const { Deno, process } = globalThis as { Deno?: Parameters<typeof createDenoRuntime>[0]; process?: { on?: unknown } };
  if (Deno) return createDenoRuntime(Deno);
  if (typeof process?.on === "function") return createNodeRuntime(); // Node, and Bun
  return createBrowserRuntime();
}
