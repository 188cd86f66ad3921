// A WASI library in AssemblyScript ("aslib"): its handler prints through
// WASI's fd_write, so its output lands in the program's stdout in order.
import { atExit } from "../../../sdk/assemblyscript";

@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, written: usize): u16;

const scratch = memory.data(16); // one iovec (pointer, length), then the count written

function print(text: string): void {
  const bytes = String.UTF8.encode(text + "\n");
  store<usize>(scratch, changetype<usize>(bytes));
  store<usize>(scratch, bytes.byteLength, 4);
  fd_write(1, scratch, 1, scratch + 8);
}

function logValue(value: i32): void {
  print("aslib shared handler " + value.toString());
}

export function register_log(value: i32): i32 {
  return atExit(logValue, value);
}
