// One fresh process of SPEC P7, the whole process (bench/index.mjs):
//   node bench/whole.mjs <library>
// A short program as a command-line tool is one: it loads the library,
// registers 10 handlers and ends by itself. The parent times it from spawn
// to exit. Its last exit listener, added after every library's own, prints
// the peak resident set size (KiB) as the process ends: the figure
// bench/index.mjs uses when /usr/bin/time is not installed.
import { LIBRARIES } from "./libraries.mjs";

// Not `import ... from "node:fs"`: Node builds that module's ESM namespace
// by reading every export, ReadStream's getter too, which loads node:stream,
// about 4 ms here that a program writing no file does not pay.
const { writeSync } = process.getBuiltinModule("node:fs");

const register = await LIBRARIES[process.argv[2]]();
for (let i = 0; i < 10; i++) register(() => {});
process.on("exit", () => writeSync(1, `${JSON.stringify({ maxRSS: process.resourceUsage().maxRSS })}\n`));
