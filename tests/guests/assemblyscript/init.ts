// Registers from top-level code. Built with --exportStart _initialize the
// host runs that code after attaching the table, so it succeeds; built
// without, it runs during instantiation and gets ERR_NO_TABLE.
import { atExit } from "../../../sdk/assemblyscript";

@external("env", "log")
declare function log(value: i32): void;

function logValue(value: i32): void {
  log(value);
}

const status = atExit(logValue, 7);

export function init_status(): i32 {
  return status;
}
