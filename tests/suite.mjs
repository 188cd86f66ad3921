// uvu's `suite` and `test`, with hooks whose failures fail the run. Every
// test file takes them from here, never from "uvu" itself (suite.test.mjs
// checks that).
//
// uvu 0.5.6 loses a hook's exception (`runner` in uvu/dist/index.mjs): a
// `before` that throws, or an `after.each` that throws (it is called again
// from the test's `catch`), leaves the suite's loop, and the `return` in the
// runner's `finally` swallows the exception: those tests neither pass nor
// fail, and the run exits 0. An `after` that throws ends the whole run
// before its summary and before every later file. So here the hooks run
// inside the tests, in uvu's order: `before` with the first test (if it
// throws, every test of the suite fails), `before.each` and `after.each`
// with each test, `after` with the last test run. uvu then prints and
// counts a hook's failure as a test's, and exits 1.
import { suite as uvuSuite } from "uvu";

/** A hook's failure, named as one, with the stack of what it threw. */
function hookFailed(hook, thrown) {
  const failure = new Error(`the ${hook} hook threw: ${thrown instanceof Error ? thrown.message : String(thrown)}`, { cause: thrown });
  const frames = thrown instanceof Error && thrown.stack ? thrown.stack.indexOf("\n    at ") : -1;
  if (frames >= 0) failure.stack = `Error: ${failure.message}${thrown.stack.slice(frames)}`;
  return failure;
}

/** Runs `hooks` in order; a throw becomes `hookFailed(name, ...)`. */
async function runHooks(name, hooks, state) {
  try {
    for (const hook of hooks) await hook(state);
  } catch (thrown) {
    throw hookFailed(name, thrown);
  }
}

/** The hooks and tests registered between two `run()` calls: one uvu suite run. */
const newRound = () => ({ before: [], beforeEach: [], afterEach: [], after: [], tests: 0, only: 0, planned: 0, ran: 0, setUp: undefined });

/** uvu's `suite(name, state)`, with hooks that fail the tests they belong to. */
export function suite(name, state) {
  const inner = uvuSuite(name, state);
  let round = newRound();

  /** Wraps a test's body so that its round's hooks run around it. */
  const withHooks = (r, body) => async (context) => {
    r.ran++;
    const last = r.ran === r.planned;
    let failure;
    let setUp = false;
    try {
      // Every test awaits the one run of `before`: if it threw, each fails.
      r.setUp ??= runHooks("before", r.before, context);
      await r.setUp;
      setUp = true;
      await runHooks("before.each", r.beforeEach, context);
      await body(context);
    } catch (thrown) {
      failure = thrown;
    }
    // As in uvu, `after.each` follows every `before.each` tried, and `after` the last test.
    const after = [...(setUp ? [["after.each", r.afterEach]] : []), ...(last ? [["after", r.after]] : [])];
    for (const [hookName, hooks] of after) {
      try {
        await runHooks(hookName, hooks, context);
      } catch (hookFailure) {
        // The test's own failure is the one uvu shows; a later hook's is not lost.
        if (failure === undefined) failure = hookFailure;
        else console.error(hookFailure);
      }
    }
    if (failure !== undefined) throw failure;
  };

  const test = (title, body) => {
    round.tests++;
    inner(title, withHooks(round, body));
  };
  test.only = (title, body) => {
    round.only++;
    inner.only(title, withHooks(round, body));
  };
  test.skip = (...args) => inner.skip(...args);
  test.before = (hook) => round.before.push(hook);
  test.before.each = (hook) => round.beforeEach.push(hook);
  test.after = (hook) => round.after.push(hook);
  test.after.each = (hook) => round.afterEach.push(hook);
  test.run = () => {
    // uvu runs the `only` tests if there are any, else all of them.
    round.planned = round.only || round.tests;
    // With no test to carry them (all skipped), `before` and `after` are
    // uvu's own: an `after` that throws still ends the run with 1.
    if (round.planned === 0) {
      for (const hook of round.before) inner.before(hook);
      for (const hook of round.after) inner.after(hook);
    }
    inner.run();
    round = newRound();
  };
  return test;
}

/** uvu's `test`: the suite without a name. */
export const test = suite();
