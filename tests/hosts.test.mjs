// Other hosts (SPEC H3): the same program on real Deno and Bun (their npm
// packages, which .ci/run installs), and a page in Debian's headless Chromium
// driven by playwright-core. Elsewhere these are skipped (uvu counts them),
// unless WASM_ATEXIT_REQUIRE_HOSTS=1 (as in CI), where they fail.
import { suite } from "./suite.mjs";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NATIVE } from "./guests/build.mjs";
import { fixture, lines, testIf } from "./helpers.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const REQUIRED = process.env.WASM_ATEXIT_REQUIRE_HOSTS === "1";
const guest = join(root, NATIVE.c.prebuilt);

/** `suite`, or its skip when `path` is missing (a failure where hosts are required). */
const needing = (suite, path, what) => testIf(suite, existsSync(path), REQUIRED, `no ${what} here (${path})`);

/** Runs the fixture on a host; with `signal`, sends it once the program is ready. */
function run(command, args, { signal, env = {} } = {}) {
  // uvu sets FORCE_COLOR, under which Bun colours all console.error output.
  const { FORCE_COLOR, ...inherited } = process.env;
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: { ...inherited, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
      if (signal && stdout.includes("ready")) child.kill(signal);
    });
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("close", (code, sig) => {
      clearTimeout(killer);
      resolve({ stdout, stderr, code, signal: sig });
    });
  });
}

const HOSTS = {
  deno: { binary: join(root, "node_modules", ".bin", "deno"), args: (scenario) => ["run", "-A", fixture("hosts.mjs"), scenario, guest] },
  bun: { binary: join(root, "node_modules", ".bin", "bun"), args: (scenario) => [fixture("hosts.mjs"), scenario, guest] },
};

for (const [name, host] of Object.entries(HOSTS)) {
  const Host = suite(`${name}`);
  const test = needing(Host, host.binary, name);
  const on = (scenario, options) => run(host.binary, host.args(scenario), options);

  test("the program ending by itself: JS and guest handlers, LIFO", async () => {
    const r = await on("natural");
    assert.equal(lines(r.stdout), ["onExit 0 null", "guest 2", "js handler"]);
    assert.is(r.stderr, "");
    assert.is(r.code, 0);
  });

  test("the host's own exit function", async () => {
    const r = await on("exit");
    assert.equal(lines(r.stdout), ["onExit 3 null", "guest 2", "js handler"]);
    assert.is(r.code, 3);
  });

  test("exitNow ends at once, running no handler", async () => {
    const r = await on("exit-now");
    assert.is(r.stdout, "");
    assert.is(r.code, 6);
  });

  test("a failing handler is reported, the others run, 0 becomes 1", async () => {
    const r = await on("throw");
    assert.equal(lines(r.stdout), ["onExit 0 null", "guest 2", "js handler"]);
    assert.match(r.stderr, 'wasm-atexit: exit handler "bad" failed:\nError: boom');
    assert.is(r.code, 1);
  });

  test("async handlers are awaited when the program runs out of work", async () => {
    const r = await on("async");
    assert.equal(lines(r.stdout), ["async handler awaited", "onExit 0 null", "guest 2", "js handler"]);
  });

  test("SIGTERM with handleSignals: drained, then the signal", async () => {
    const r = await on("signal", { signal: "SIGTERM" });
    assert.equal(lines(r.stdout), ["ready", "onExit 143 SIGTERM", "guest 2", "js handler"]);
    assert.ok(r.signal === "SIGTERM", `ended with code ${r.code}, signal ${r.signal}`);
  });

  test("WASM_ATEXIT_TRACE=1 traces each handler", async () => {
    const r = await on("natural", { env: { WASM_ATEXIT_TRACE: "1" } });
    const traced = lines(r.stderr);
    assert.is(traced.length, 3, r.stderr);
    assert.match(traced[0], /^wasm-atexit trace: <anonymous> ran in \d+\.\d{3} ms$/);
    assert.match(traced[1], /^wasm-atexit trace: function \d+ of guest "c" ran in \d+\.\d{3} ms$/);
    assert.match(traced[2], /^wasm-atexit trace: <anonymous> ran in \d+\.\d{3} ms$/);
  });

  Host.run();
}

const Browser = suite("a page in headless Chromium");
const inChromium = needing(Browser, "/usr/bin/chromium", "Debian's chromium");

/**
 * Serves `files` (url → [contents, type]) and a blank "/elsewhere", opens
 * "/" in headless Chromium, and calls `body(page, base)`.
 */
async function inPage(files, body) {
  const { chromium } = await import("playwright-core");
  const server = createServer((request, response) => {
    if (request.url === "/elsewhere") return response.writeHead(200, { "content-type": "text/html" }).end("<title>elsewhere</title>");
    const [contents, type] = files[request.url] ?? [];
    if (!type) return response.writeHead(404).end();
    response.writeHead(200, { "content-type": type }).end(contents);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    await body(await browser.newPage(), base);
  } finally {
    await browser.close();
    server.close();
  }
}

const file = (path) => readFileSync(join(root, path));

inChromium("a handler registered by a Wasm guest writes to localStorage on pagehide", async () => {
  const files = {
    "/": [file("tests/fixtures/page/index.html"), "text/html"],
    "/build/index.js": [file("build/index.js"), "text/javascript"],
    "/build/import-optional.js": [file("build/import-optional.js"), "text/javascript"],
    "/loader.js": [file("node_modules/@assemblyscript/loader/index.js"), "text/javascript"],
    "/guest.wasm": [file(NATIVE.c.prebuilt), "application/wasm"],
  };
  await inPage(files, async (page, base) => {
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.title.startsWith("ready"));
    assert.is(await page.title(), "ready, 2 pending");
    await page.goto(`${base}/elsewhere`); // the first page gets pagehide
    const log = lines(await page.evaluate(() => localStorage.getItem("log")));
    assert.equal(log.filter((line) => !line.startsWith("wasm-atexit trace: ")), ["guest handler 7", "js handler"]);
    const traced = log.filter((line) => line.startsWith("wasm-atexit trace: "));
    assert.is(traced.length, 2, log.join("\n"));
    assert.match(traced[0], /^wasm-atexit trace: function \d+ of guest "c" ran in \d+\.\d{3} ms$/);
    assert.match(traced[1], /^wasm-atexit trace: <anonymous> ran in \d+\.\d{3} ms$/);
  });
});

inChromium("bundled by esbuild for the browser with no flags or externals, it runs its handlers on pagehide", async () => {
  const { build } = await import("esbuild");
  const bundled = await build({ entryPoints: [fixture("page/app.js")], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent", metafile: true });
  assert.equal(bundled.warnings, []);
  // Nothing of Node's or of the optional WASI shim was pulled in, though the shim is installed here.
  const inputs = Object.keys(bundled.metafile.inputs);
  assert.equal(inputs.filter((input) => input.includes("browser_wasi_shim") || input.startsWith("node:")), []);
  const files = {
    "/": ['<!doctype html><title>loading</title><script type="module" src="/app.js"></script>', "text/html"],
    "/app.js": [bundled.outputFiles[0].text, "text/javascript"],
    "/guest.wasm": [file(NATIVE.c.prebuilt), "application/wasm"],
  };
  await inPage(files, async (page, base) => {
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.title.startsWith("ready"));
    assert.is(await page.title(), "ready, 2 pending");
    await page.goto(`${base}/elsewhere`);
    assert.equal(lines(await page.evaluate(() => localStorage.getItem("log"))), ["bundled guest handler 8", "bundled js handler"]);
  });
});

Browser.run();
