// What every benchmark script shares: where the package is, the sizes and
// rounds asked for, medians, fresh child processes timed from the parent,
// interleaving round by round, and Markdown tables.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));

/** A positive integer from the environment, or a clear error naming the variable. */
function count(variable, text) {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${variable}: ${JSON.stringify(text)} is not a positive integer`);
  return value;
}

/** BENCH_SIZES (comma-separated N), or the script's defaults. */
export const sizes = (defaults) => process.env.BENCH_SIZES?.split(",").map((n) => count("BENCH_SIZES", n)) ?? defaults;

/** BENCH_ROUNDS, or the script's default. */
export const rounds = (defaults) => (process.env.BENCH_ROUNDS === undefined ? defaults : count("BENCH_ROUNDS", process.env.BENCH_ROUNDS));

export const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/**
 * Runs a fresh process to its end and returns its stdout, stderr and wall
 * time from spawn to exit as the parent sees it (ms). Throws, with the
 * child's stderr, when it fails: a figure from a failed run is no figure.
 */
export function run(command, args, options = {}) {
  const start = process.hrtime.bigint();
  const child = spawnSync(command, args, { cwd: root, encoding: "utf8", maxBuffer: 1 << 26, ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (child.error) throw child.error;
  if (child.status !== 0) throw new Error(`${[command, ...args].join(" ")} exited ${child.status ?? child.signal}:\n${child.stderr}`);
  return { stdout: child.stdout, stderr: child.stderr, ms };
}

/** Runs `node ...args` fresh and returns the JSON of its last line of stdout. */
export function node(args, options) {
  return JSON.parse(run(process.execPath, args, options).stdout.trim().split("\n").at(-1));
}

/**
 * Takes `count` samples of each case, interleaved round by round (a busy
 * machine then slows every case alike), starting each round at the next
 * case so that none always runs first. Returns each case's samples.
 */
export function interleave(count, cases) {
  const names = Object.keys(cases);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < count; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      samples[name].push(cases[name]());
    }
  }
  return samples;
}

/** A Markdown table: a header row, a right-aligned rule for numeric columns, the rows. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

/** Nanoseconds, to three significant figures or so. */
export const ns = (x) => (x === undefined ? "" : x >= 100 ? `${Math.round(x)} ns` : `${x.toFixed(1)} ns`);

/** What `npm pack` would publish: its size in bytes and its count of entries. */
export function packed() {
  const [tarball] = JSON.parse(run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"]).stdout);
  return { size: tarball.size, entries: tarball.entryCount };
}

/**
 * The median, over rounds, of `compare(sample, baseline)`: each sample
 * against the baseline taken in the same round (interleave's samples line
 * up by round), so that a round slowed by a busy machine is compared with
 * itself.
 */
export const medianPerRound = (samples, baseline, compare) => median(samples.map((sample, round) => compare(sample, baseline[round])));
