// The logger guest, in AssemblyScript: each handler passes its argument to
// the host's env.log, so a test sees the order and the arguments.
import { atExit, atExitNoArg, cancelAtExit, pendingAtExit } from "../../../sdk/assemblyscript";

@external("env", "log")
declare function log(value: i32): void;

function logValue(value: i32): void {
  log(value);
}
function logZero(): void {
  log(0);
}
function fail(value: i32): void {
  abort("handler failed on purpose");
}
function registerAnother(value: i32): void {
  log(value);
  atExit(logValue, value + 1);
}

export function register_log(value: i32): i32 {
  return atExit(logValue, value);
}
export function register_log_no_arg(): i32 {
  return atExitNoArg(logZero);
}
export function register_failing(): i32 {
  return atExit(fail, 0);
}
export function register_registering(value: i32): i32 {
  return atExit(registerAnother, value);
}
export function cancel(handle: i32): i32 {
  return cancelAtExit(handle);
}
export function pending(): i32 {
  return pendingAtExit();
}
