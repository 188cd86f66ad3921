// PGlite closing cleanly on Ctrl-C, without pg.close() (README, "Emscripten").
//
//   node examples/pglite.mjs [folder]     (default: examples/data/pglite)
//
// Each run adds a visit to a database on disk, with synchronous_commit off,
// and waits. Ctrl-C (SIGINT) runs the exit handlers: PGlite's own exit
// list shuts Postgres down, so the next run counts every visit and opens
// the folder without crash recovery. Unlinked, the visit is lost.
import { PGlite } from "@electric-sql/pglite";
import atexit from "wasm-atexit";
import { linkEmscripten } from "wasm-atexit/emscripten";

const folder = process.argv[2] ?? new URL("./data/pglite", import.meta.url).pathname;
const pg = await PGlite.create(folder);
atexit.register(() => console.log("PGlite is shut down: the next run opens it cleanly"));
linkEmscripten(pg.Module, { name: "pglite" });
atexit.handleSignals();

await pg.exec("CREATE TABLE IF NOT EXISTS visits (at timestamptz DEFAULT now()); SET synchronous_commit = off; INSERT INTO visits DEFAULT VALUES");
const { rows } = await pg.query("SELECT count(*)::int AS n FROM visits");
console.log(`visit ${rows[0].n}; ready: press Ctrl-C to end`);
setInterval(() => {}, 1 << 30);
