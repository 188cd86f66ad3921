// One fresh process of bench/warm.mjs's "drain at process exit":
//   node bench/warm/drain-at-exit.mjs <library> <N>
// signal-exit and exit-hook drain only when the process exits. Times a
// reverse loop over N distinct closures (its own baseline: best of 5), then
// registers the same closures (distinct: exit-hook keeps a Set) and exits;
// the handler that runs last prints the drain and the loop, in ns.
import { LIBRARIES } from "../libraries.mjs";

const [library, size] = process.argv.slice(2);
const n = Number(size);
let calls = 0;
let start = 0n;
let loop = Infinity;
let armed = false;
const count = () => {
  if (++calls === n && armed) console.log(JSON.stringify({ drain: Number(process.hrtime.bigint() - start), loop }));
};
const handlers = Array.from({ length: n }, () => () => count());
for (let round = 0; round < 5; round++) {
  const t = process.hrtime.bigint();
  for (let i = handlers.length - 1; i >= 0; i--) handlers[i]();
  loop = Math.min(loop, Number(process.hrtime.bigint() - t));
}
calls = 0;
armed = true;
const register = await LIBRARIES[library]();
for (const h of handlers) register(h);
start = process.hrtime.bigint();
process.exit(0);
