// Which host the program runs on (SPEC H3), and the runtime built for it:
// the exit stack, the shutdown policy over the host's mechanics, and the
// public API over both. Each host drains the same stack on its own
// end-of-program event; the core and the guest ABI are the same.

import { browserHost } from "./browser.js";
import { denoHost } from "./deno.js";
import { nodeHost } from "./node.js";
import { Reports } from "./report.js";
import { Runtime } from "./runtime.js";
import { Shutdown, type Host } from "./shutdown.js";
import { ExitStack } from "./stack.js";

export function createRuntime(): Runtime {
  const stack = new ExitStack();
  const reports = new Reports();
  const host = chooseHost();
  return new Runtime(stack, new Shutdown(stack, host, reports), reports, host);
}

function chooseHost(): Host {
  const { Deno, process } = globalThis as { Deno?: Parameters<typeof denoHost>[0]; process?: { on?: unknown } };
  if (Deno) return denoHost(Deno);
  if (typeof process?.on === "function") return nodeHost; // Node, and Bun
  return browserHost;
}
