// Shared by the tests: run a fixture program as a child process and collect
// what it printed and how it ended.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

export const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/**
 * Copies the built package into `dir/name` under another version number: a
 * second copy, as another dependency's node_modules brings it, which Node
 * loads as a module instance of its own. Returns its folder. With
 * `loader: false`, its dependency @assemblyscript/loader is not installed
 * beside it, to show what runs without importing it.
 */
export function copyPackage(dir, name, version, { loader = true } = {}) {
  const target = join(dir, name);
  cpSync(join(root, "build"), join(target, "build"), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  writeFileSync(join(target, "package.json"), JSON.stringify({ ...manifest, version }));
  mkdirSync(join(target, "node_modules"));
  if (loader) symlinkSync(join(root, "node_modules", "@assemblyscript"), join(target, "node_modules", "@assemblyscript"));
  return target;
}

/** Runs `node <script> ...args` to completion: { stdout, stderr, code, signal }. */
export function runNode(script, args = [], options = {}) {
  const child = spawnSync(process.execPath, [script, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    ...options,
  });
  if (child.error) throw child.error;
  return { stdout: child.stdout, stderr: child.stderr, code: child.status, signal: child.signal };
}

/** Runs `node <fixture> ...args` to completion: { stdout, stderr, code, signal }. */
export const runFixture = (name, args = [], options = {}) => runNode(fixture(name), args, options);

/**
 * Starts `node <fixture> ...args`, collecting what it prints: `output`
 * holds stdout and stderr so far; `ended` resolves to
 * { stdout, stderr, code, signal } when it has ended.
 */
export function spawnFixture(name, args = []) {
  const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const output = { stdout: "", stderr: "" };
  child.stdout.setEncoding("utf8").on("data", (d) => (output.stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (output.stderr += d));
  const ended = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ ...output, code, signal }));
  });
  return { child, output, ended };
}

/**
 * Starts a fixture. `ready` resolves once its stdout says "ready";
 * `waitFor(text)` once it says `text`; `ended` when it has ended.
 */
export function startFixture(name, args = []) {
  const { child, output, ended } = spawnFixture(name, args);
  const waitFor = (text) =>
    new Promise((resolve, reject) => {
      const check = () => output.stdout.includes(text) && resolve();
      check();
      child.stdout.on("data", check);
      child.on("close", () => reject(new Error(`fixture ended before printing ${text}:\n${output.stdout}\n${output.stderr}`)));
    });
  return { child, ready: waitFor("ready"), waitFor, ended };
}

/**
 * Plays an orchestrator: starts `fixture scenario ...args`, sends `signal` once it is
 * ready, then SIGKILL after `grace` ms if it is still alive. Resolves to
 * { stdout, stderr, code, signal, took } (took: ms from the signal to the end).
 */
export async function signalFixture(name, scenario, { grace = 3000, signal = "SIGTERM", args = [] } = {}) {
  const { child, ready, ended } = startFixture(name, [scenario, ...args]);
  await ready;
  const sent = Date.now();
  child.kill(signal);
  const killer = setTimeout(() => child.kill("SIGKILL"), grace);
  const r = await ended;
  clearTimeout(killer);
  return { ...r, took: Date.now() - sent };
}

/** Runs the jobs (functions returning promises) two at a time, in order; resolves to their results. */
export async function twoAtATime(jobs) {
  const results = [];
  for (let i = 0; i < jobs.length; i += 2) results.push(...(await Promise.all(jobs.slice(i, i + 2).map((job) => job()))));
  return results;
}

/** Lines of text, without the empty last one. */
export const lines = (text) => text.split("\n").filter((line) => line !== "");

/** The notice an awaited handler gets when an ordinary exit cuts its drain short (H2). */
export const cutShortNotice = (name) => `wasm-atexit: exit handler "${name}" was cut short: the process is exiting before its promise settled\n`;

/** The runtime behind the package in this thread; `internals` is the core. */
export const runtime = () => globalThis[Symbol.for("wasm-atexit.runtime")];

/** Runs `body` with console.error captured; returns [what it threw, or undefined; the captured texts]. */
export function failuresOf(body) {
  return captureErrors(() => {
    try {
      body();
    } catch (err) {
      return err;
    }
  });
}

/** Calls `body` with console.error captured; returns [result, captured texts]. */
export function captureErrors(body) {
  const original = console.error;
  const captured = [];
  console.error = (text) => captured.push(String(text));
  try {
    return [body(), captured];
  } finally {
    console.error = original;
  }
}

/**
 * `test` itself when what it needs is here. Otherwise `test.skip`, which uvu
 * counts as skipped, with a note naming what is missing; or, when
 * `required` (CI, which installs everything), a test that fails saying so.
 */
export function testIf(test, ready, required, missing) {
  if (ready) return test;
  if (required) return (name) => test(name, () => assert.unreachable(`${missing}, and it is required here`));
  console.log(`  (${missing}: skipped)`);
  return test.skip;
}
