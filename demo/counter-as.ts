// The demo's library, in AssemblyScript: a counter kept in counter-as in
// the program's preopened directory, read when the library starts and saved
// by an exit handler on the shared stack. Build with --exportTable and
// --exportStart _initialize (demo/start.mjs does).
import { atExit } from "../sdk/assemblyscript";

// The WASI calls it needs (AssemblyScript 0.28 no longer ships bindings).
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(dir: u32, lookup: u32, path: usize, pathLen: usize, oflags: u16,
  rights: u64, inheriting: u64, fdflags: u16, fd: usize): u16;
@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: u32, iovs: usize, iovsLen: usize, read: usize): u16;
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, written: usize): u16;
@external("wasi_snapshot_preview1", "fd_close")
declare function fd_close(fd: u32): u16;

const PREOPENED_DIR: u32 = 3; // the first --dir
const CREATE_AND_TRUNCATE: u16 = 1 | 8;
const RIGHT_READ: u64 = 2;
const RIGHT_WRITE: u64 = 64;
const FILE = "counter-as";
const scratch = memory.data(16); // an iovec (pointer, length), then a count or an fd

let count = 0;

/** Opens FILE; returns its fd, or -1. */
function open(oflags: u16, rights: u64): i32 {
  const path = String.UTF8.encode(FILE);
  const errno = path_open(PREOPENED_DIR, 0, changetype<usize>(path), path.byteLength, oflags, rights, 0, 0, scratch + 8);
  return errno == 0 ? load<i32>(scratch + 8) : -1;
}

function transfer(fd: i32, buffer: ArrayBuffer, writing: bool): i32 {
  store<usize>(scratch, changetype<usize>(buffer));
  store<usize>(scratch, buffer.byteLength, 4);
  const errno = writing ? fd_write(fd, scratch, 1, scratch + 8) : fd_read(fd, scratch, 1, scratch + 8);
  return errno == 0 ? load<i32>(scratch + 8) : 0;
}

function print(text: string): void {
  transfer(1, String.UTF8.encode(text + "\n"), true);
}

function save(unused: i32): void {
  const fd = open(CREATE_AND_TRUNCATE, RIGHT_WRITE);
  if (fd < 0) return;
  transfer(fd, String.UTF8.encode(count.toString()), true);
  fd_close(fd);
  print("AssemblyScript saved its counter, " + count.toString());
}

export function increment(n: i32): i32 {
  count += n;
  return count;
}

// Read the counter when the library starts, and save it at exit.
const fd = open(0, RIGHT_READ);
if (fd >= 0) {
  const buffer = new ArrayBuffer(16);
  const read = transfer(fd, buffer, false);
  fd_close(fd);
  count = I32.parseInt(String.UTF8.decode(buffer.slice(0, read)));
}
atExit(save, 0);
