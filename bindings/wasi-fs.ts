// What a path and an fd mean to a WASI program run over node:wasi: the one
// place that decides it. Two jobs, both done by wrapping node:wasi's imports.
//
// `--dir` as a sandbox (SPEC W6). node:wasi checks a path only lexically
// and for a symbolic link as its last component, so a link in the middle of
// a path (`box/root/etc/passwd`, with `box/root -> /`) leads the kernel out
// of the directory. Here every path a program passes to a `path_*` function
// is walked first, component by component, from the real directory its fd
// stands for, expanding each symbolic link the call would follow; a walk
// that leaves the preopened directory it started in fails with NOTCAPABLE,
// as under wasmtime. Only a walk that stays inside reaches the file system.
//
// WASI preview 1 as the specification and wasmtime answer it, where
// node:wasi (uvwasi) answers otherwise; each case is a test of the official
// suite (tests/wasi-testsuite): a NUL in a path, opening a symbolic link
// without following it, `.` and `..` in fd_readdir, an fd's own fdflags,
// times to the nanosecond, readlink into a short buffer, a preopen's name
// into a short buffer, and sock_shutdown on what is not a socket. What
// node:wasi gets right stays node:wasi's.
//
// What this cannot isolate: a hard link made inside the directory by
// someone else to a file outside it (it is a file of the directory), and a
// component swapped for a link by another host process between the check
// and the call.

// WASI preview 1's numbers (witx: typenames.witx).
const ERRNO_EXIST = 20;
const ERRNO_INVAL = 28;
const ERRNO_IO = 29;
const ERRNO_LOOP = 32;
const ERRNO_NAMETOOLONG = 37;
const ERRNO_NOBUFS = 42;
const ERRNO_NOTSOCK = 57;
const ERRNO_NOTCAPABLE = 76;
const ERRNO_BY_CODE: Record<string, number> = {
  E2BIG: 1, EACCES: 2, EAGAIN: 6, EBADF: 8, EBUSY: 10, EEXIST: 20, EFBIG: 22, EINVAL: 28, EIO: 29,
  EISDIR: 31, ELOOP: 32, EMFILE: 33, EMLINK: 34, ENAMETOOLONG: 37, ENFILE: 41, ENOENT: 44, ENOMEM: 48,
  ENOSPC: 51, ENOSYS: 52, ENOTDIR: 54, ENOTEMPTY: 55, ENOTSUP: 58, EPERM: 63, EROFS: 69, EXDEV: 75,
};
const FILETYPE_UNKNOWN = 0;
const FILETYPE_BLOCK_DEVICE = 1;
const FILETYPE_CHARACTER_DEVICE = 2;
const FILETYPE_DIRECTORY = 3;
const FILETYPE_REGULAR_FILE = 4;
const FILETYPE_SOCKET_STREAM = 6;
const FILETYPE_SYMBOLIC_LINK = 7;
const LOOKUP_SYMLINK_FOLLOW = 1;
const OFLAGS_CREAT = 1;
const OFLAGS_EXCL = 4;
const FSTFLAGS_ATIM = 1;
const FSTFLAGS_ATIM_NOW = 2;
const FSTFLAGS_MTIM = 4;
const FSTFLAGS_MTIM_NOW = 8;
const RIGHTS_FD_READDIR = 1n << 14n;
const RIGHTS_PATH_READLINK = 1n << 15n;
const RIGHTS_PATH_FILESTAT_SET_TIMES = 1n << 20n;
// Memory layouts: fdstat is 24 bytes (filetype u8 at 0, fdflags u16 at 2,
// rights u64 at 8 and 16); filestat 64 (dev u64 at 0, ino u64 at 8, then
// filetype, nlink, size, atim, mtim, ctim); a dirent 24 before its name
// (d_next u64 at 0, d_ino u64 at 8, d_namlen u32 at 16, d_type u8 at 20).
const FDSTAT_SIZE = 24;
const FILESTAT_SIZE = 64;
const DIRENT_SIZE = 24;
// Linux follows at most 40 links in one path.
const MAX_LINKS = 40;

type Fs = typeof import("node:fs");
type Path = typeof import("node:path");
// Wasm i64 arguments (times, cookies, rights) arrive as BigInt.
type WasiFunction = (...args: any[]) => number;
/** Which arguments of a path_* call are paths: [dir fd, pointer, length, follow the last link]. */
type PathArguments = (args: number[]) => [fd: number, pointer: number, length: number, follow: boolean][];

/** What an fd of the program stands for: a real host path, the preopened directory it lies in, and its fdflags. */
interface Place {
  path: string;
  root: string;
  fdflags: number;
  /** fd_readdir's entries for this directory, read afresh at cookie 0. */
  listing?: Entry[];
}

/** Where a walk ends: the host path, and the preopened directory it lies in. */
type Walked = Pick<Place, "path" | "root">;

interface Entry {
  name: Buffer;
  ino: bigint;
  type: number;
}

/**
 * Wraps node:wasi's imports so that no path leaves the `preopens`, and
 * that calls node:wasi answers wrongly are answered as WASI says.
 * `preopens` is the object given to node:wasi, which numbers its
 * directories from fd 3 in `Object.keys` order. Call `bind` with the
 * instance's memory before the program runs.
 */
export function confine(imports: Record<string, unknown>, preopens: Record<string, string>) {
  const sandbox = new Sandbox(imports, preopens);
  return { imports: sandbox.imports(), bind: (instance: object) => sandbox.bind(instance) };
}

/** One program's view of the file system: what each of its fds stands for, and node:wasi's imports answered through it. */
class Sandbox {
  // Loaded here, not with the module: a page that runs a program under
  // browser_wasi_shim loads this module too, and has no node:fs.
  readonly #fs = process.getBuiltinModule("node:fs") as Fs;
  readonly #path = process.getBuiltinModule("node:path") as Path;
  readonly #places = new Map<number, Place>();
  readonly #original: Record<string, unknown>;
  readonly #decoder = new TextDecoder();
  #memory: WebAssembly.Memory | undefined;

  constructor(original: Record<string, unknown>, preopens: Record<string, string>) {
    this.#original = original;
    Object.values(preopens).forEach((host, index) => {
      const root = this.#fs.realpathSync(host);
      this.#places.set(3 + index, { path: root, root, fdflags: 0 });
    });
  }

  bind(instance: object): void {
    const exported = (instance as WebAssembly.Instance).exports.memory;
    if (exported instanceof WebAssembly.Memory) this.#memory = exported;
  }

  /** node:wasi's imports, each path argument walked first, and the answers node:wasi gets wrong put right. */
  imports(): Record<string, unknown> {
    const guarded = (name: string, paths: PathArguments) => this.#guarded(name, paths);
    return {
      ...this.#original,
      path_open: (fd: number, dirFlags: number, pointer: number, length: number, oflags: number, ...rest: any[]) =>
        this.#pathOpen(fd, dirFlags, pointer, length, oflags, ...rest),
      fd_close: (fd: number) => this.#fdClose(fd),
      fd_renumber: (from: number, to: number) => this.#fdRenumber(from, to),
      fd_fdstat_get: (fd: number, out: number) => this.#fdFdstatGet(fd, out),
      fd_fdstat_set_flags: (fd: number, fdflags: number) => this.#fdFdstatSetFlags(fd, fdflags),
      fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, flags: number) => this.#fdFilestatSetTimes(fd, atim, mtim, flags),
      path_filestat_set_times: (fd: number, lookup: number, pointer: number, length: number, atim: bigint, mtim: bigint, flags: number) =>
        this.#pathFilestatSetTimes(fd, lookup, pointer, length, atim, mtim, flags),
      path_readlink: (fd: number, pointer: number, length: number, buffer: number, size: number, used: number) =>
        this.#pathReadlink(fd, pointer, length, buffer, size, used),
      fd_readdir: (fd: number, buffer: number, size: number, cookie: bigint, used: number) => this.#fdReaddir(fd, buffer, size, cookie, used),
      // node:wasi fails with NOBUFS; WASI's answer for a name longer than the buffer is NAMETOOLONG.
      fd_prestat_dir_name: (fd: number, pointer: number, length: number) => {
        const errno = this.#call("fd_prestat_dir_name", fd, pointer, length);
        return errno === ERRNO_NOBUFS ? ERRNO_NAMETOOLONG : errno;
      },
      // node:wasi answers NOTSUP for any fd. It holds no socket (stdio
      // included, as for wasmtime: a stream, whatever the host's fd is),
      // so shutdown(2)'s answer is BADF for a closed fd, else NOTSOCK.
      sock_shutdown: (fd: number) => this.#holds(fd, 0n) || ERRNO_NOTSOCK,
      path_create_directory: guarded("path_create_directory", ([fd, p, n]) => [[fd, p, n, false]]),
      path_remove_directory: guarded("path_remove_directory", ([fd, p, n]) => [[fd, p, n, false]]),
      path_unlink_file: guarded("path_unlink_file", ([fd, p, n]) => [[fd, p, n, false]]),
      path_filestat_get: guarded("path_filestat_get", ([fd, flags, p, n]) => [[fd, p, n, follows(flags)]]),
      path_symlink: guarded("path_symlink", ([, , fd, p, n]) => [[fd, p, n, false]]),
      path_link: guarded("path_link", ([fd, flags, p, n, newFd, newP, newN]) => [
        [fd, p, n, follows(flags)],
        [newFd, newP, newN, false],
      ]),
      path_rename: guarded("path_rename", ([fd, p, n, newFd, newP, newN]) => [
        [fd, p, n, false],
        [newFd, newP, newN, false],
      ]),
    };
  }

  #call(name: string, ...args: unknown[]): number {
    return (this.#original[name] as WasiFunction)(...args);
  }

  #bytes(pointer: number, length: number): Uint8Array {
    return new Uint8Array(this.#memory!.buffer, pointer, length);
  }

  #view(): DataView {
    return new DataView(this.#memory!.buffer);
  }

  #text(pointer: number, length: number): string {
    return this.#decoder.decode(this.#bytes(pointer, length));
  }

  /**
   * Where `guestPath`, relative to fd `dirFd`, leads: a Walked place, or an
   * errno when it leaves its directory (or holds a NUL). `undefined` when
   * the fd is not one we know: node:wasi answers those itself (EBADF, ENOTDIR).
   */
  #walk(dirFd: number, guestPath: string, followLast: boolean): Walked | number | undefined {
    // A C string ends at NUL: the kernel would open a shorter path than the program named.
    if (guestPath.includes("\0")) return ERRNO_INVAL;
    const start = this.#places.get(dirFd);
    if (start === undefined) return undefined;
    const { root } = start;
    if (guestPath.startsWith("/")) return ERRNO_NOTCAPABLE;
    const pending = guestPath.split("/").reverse();
    let current = start.path;
    let links = 0;
    while (pending.length > 0) {
      const part = pending.pop()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        current = this.#path.dirname(current);
        if (!inside(current, root)) return ERRNO_NOTCAPABLE;
        continue;
      }
      const next = this.#path.join(current, part);
      const isLast = pending.every((rest) => rest === "" || rest === ".");
      let target: string | undefined;
      try {
        // A last component the call does not follow is the link itself: not read.
        if ((!isLast || followLast) && this.#isLink(next)) target = this.#fs.readlinkSync(next);
      } catch {
        // Missing (a file about to be created) or unreadable: the call
        // itself gives the right error, and the path so far is inside.
      }
      if (target === undefined) {
        current = next;
        continue;
      }
      if (++links > MAX_LINKS) return ERRNO_LOOP;
      if (target.startsWith("/")) return ERRNO_NOTCAPABLE;
      pending.push(...target.split("/").reverse());
    }
    if (!inside(current, root)) return ERRNO_NOTCAPABLE;
    return { path: current, root };
  }

  /** node:wasi's `name`, called only when each path argument stays inside. */
  #guarded(name: string, paths: PathArguments): WasiFunction {
    const call = this.#original[name] as WasiFunction;
    return (...args) => {
      for (const [fd, pointer, length, follow] of paths(args)) {
        const place = this.#walk(fd, this.#text(pointer, length), follow);
        if (typeof place === "number") return place;
      }
      return call(...args);
    };
  }

  /**
   * Asks node:wasi's `name` for the struct of `size` bytes it writes for
   * `fd` (fdstat, filestat), without touching the program's memory: the
   * answer is written at address 0, copied, and the bytes there put back.
   */
  #ask(name: string, fd: number, size: number): [errno: number, answer: DataView] {
    const saved = this.#bytes(0, size).slice();
    try {
      const errno = this.#call(name, fd, 0);
      return [errno, new DataView(this.#bytes(0, size).slice().buffer)];
    } finally {
      this.#bytes(0, size).set(saved);
    }
  }

  /** 0 when `fd` is open with `right` (0n: any fd), else node:wasi's errno for the fd or NOTCAPABLE. */
  #holds(fd: number, right: bigint): number {
    const [errno, fdstat] = this.#ask("fd_fdstat_get", fd, FDSTAT_SIZE);
    if (errno !== 0) return errno;
    return (fdstat.getBigUint64(8, true) & right) !== right ? ERRNO_NOTCAPABLE : 0;
  }

  /** fd_readdir's entries of a directory: `.` and `..` first, as wasmtime lists them. */
  #listing(place: Place, fresh: boolean): Entry[] {
    if (!fresh && place.listing) return place.listing;
    const fs = this.#fs;
    const entry = (name: string | Buffer, at: string | Buffer, stat = fs.lstatSync(at, { bigint: true })): Entry => ({
      name: Buffer.from(name),
      ino: stat.ino,
      type: filetype(stat),
    });
    const dir = Buffer.from(place.path + "/");
    // `..` with the directory's own inode number, as wasmtime gives it: no
    // stat outside a preopened directory, and nothing told of what is there.
    const self = entry(".", place.path);
    const entries = [self, { ...self, name: Buffer.from("..") }];
    for (const name of fs.readdirSync(place.path, { encoding: "buffer" })) {
      try {
        entries.push(entry(name, Buffer.concat([dir, name])));
      } catch {
        // Removed since the directory was read: not listed.
      }
    }
    place.listing = entries;
    return entries;
  }

  /**
   * Sets a file's times to the nanosecond, as utimensat(2) does: each is
   * the time given, now, or as `before` has it (fstflags). node:fs (libuv)
   * keeps microseconds only, so when that is not exact, touch(1) sets them;
   * where there is none, microseconds are what the file gets.
   */
  #setTimes(host: string, follow: boolean, atim: bigint, mtim: bigint, flags: number, before?: { atime: bigint; mtime: bigint }): number {
    const fs = this.#fs;
    try {
      const stat = () => (follow ? fs.statSync : fs.lstatSync)(host, { bigint: true });
      if (before === undefined) {
        const { atimeNs, mtimeNs } = stat();
        before = { atime: atimeNs, mtime: mtimeNs };
      }
      const now = BigInt(Date.now()) * 1_000_000n;
      const atime = flags & FSTFLAGS_ATIM ? atim : flags & FSTFLAGS_ATIM_NOW ? now : before.atime;
      const mtime = flags & FSTFLAGS_MTIM ? mtim : flags & FSTFLAGS_MTIM_NOW ? now : before.mtime;
      (follow ? fs.utimesSync : fs.lutimesSync)(host, Number(atime) / 1e9, Number(mtime) / 1e9);
      const after = stat();
      if (after.atimeNs !== atime) touchExactly(host, follow, "-a", atime);
      if (after.mtimeNs !== mtime) touchExactly(host, follow, "-m", mtime);
      return 0;
    } catch (err) {
      return errnoOf(err);
    }
  }

  #pathOpen(fd: number, dirFlags: number, pointer: number, length: number, oflags: number, ...rest: any[]): number {
    const place = this.#walk(fd, this.#text(pointer, length), follows(dirFlags));
    if (typeof place === "number") return place;
    // O_NOFOLLOW: a link as the last component is not opened (POSIX ELOOP);
    // node:wasi follows it.
    if (place !== undefined && !follows(dirFlags) && this.#isLink(place.path)) {
      return oflags & OFLAGS_CREAT && oflags & OFLAGS_EXCL ? ERRNO_EXIST : ERRNO_LOOP;
    }
    const errno = this.#call("path_open", fd, dirFlags, pointer, length, oflags, ...rest);
    // The new fd may be a directory that later calls are relative to.
    if (errno === 0 && place !== undefined) {
      const [fdflags, opened] = rest.slice(-2) as [number, number];
      this.#places.set(this.#view().getUint32(opened, true), { path: place.path, root: place.root, fdflags });
    }
    return errno;
  }

  /** Whether `path` is a symbolic link; false when it cannot be read (the call itself then fails rightly): the walk's test and O_NOFOLLOW's. */
  #isLink(path: string): boolean {
    try {
      return this.#fs.lstatSync(path).isSymbolicLink();
    } catch {
      return false;
    }
  }

  #fdClose(fd: number): number {
    const errno = this.#call("fd_close", fd);
    if (errno === 0) this.#places.delete(fd);
    return errno;
  }

  #fdRenumber(from: number, to: number): number {
    const errno = this.#call("fd_renumber", from, to);
    if (errno === 0) {
      const place = this.#places.get(from);
      this.#places.delete(from);
      if (place) this.#places.set(to, place);
      else this.#places.delete(to);
    }
    return errno;
  }

  // node:wasi reports the host's open flags (O_LARGEFILE on a directory),
  // not the fdflags the fd was opened with.
  #fdFdstatGet(fd: number, out: number): number {
    const errno = this.#call("fd_fdstat_get", fd, out);
    const place = this.#places.get(fd);
    if (errno === 0 && place) this.#view().setUint16(out + 2, place.fdflags, true);
    return errno;
  }

  #fdFdstatSetFlags(fd: number, fdflags: number): number {
    const errno = this.#call("fd_fdstat_set_flags", fd, fdflags);
    const place = this.#places.get(fd);
    if (errno === 0 && place) place.fdflags = fdflags;
    return errno;
  }

  // node:wasi keeps whole seconds. It still checks the fd and its rights;
  // then the times are set again, exactly, on the file the fd was opened
  // as, if it is still there (else, or for stdio, or without the right to
  // read the times kept, the seconds stay).
  #fdFilestatSetTimes(fd: number, atim: bigint, mtim: bigint, flags: number): number {
    const invalid = badTimeFlags(flags);
    if (invalid) return invalid;
    const place = this.#places.get(fd);
    if (place === undefined) return this.#call("fd_filestat_set_times", fd, atim, mtim, flags);
    // The times as they were, to the nanosecond, for a time not set.
    const [unread, before] = this.#ask("fd_filestat_get", fd, FILESTAT_SIZE);
    const errno = this.#call("fd_filestat_set_times", fd, atim, mtim, flags);
    if (errno !== 0 || unread !== 0) return errno;
    const { path: host } = place;
    const at = (offset: number) => before.getBigUint64(offset, true);
    let now;
    try {
      now = this.#fs.lstatSync(host, { bigint: true });
    } catch {
      return 0;
    }
    if (now.dev !== at(0) || now.ino !== at(8)) return 0;
    return this.#setTimes(host, false, atim, mtim, flags, { atime: at(40), mtime: at(48) });
  }

  // node:wasi sets whole seconds.
  #pathFilestatSetTimes(fd: number, lookup: number, pointer: number, length: number, atim: bigint, mtim: bigint, flags: number): number {
    const place = this.#walk(fd, this.#text(pointer, length), follows(lookup));
    if (typeof place === "number") return place;
    if (place === undefined) return this.#call("path_filestat_set_times", fd, lookup, pointer, length, atim, mtim, flags);
    return badTimeFlags(flags) || this.#holds(fd, RIGHTS_PATH_FILESTAT_SET_TIMES) || this.#setTimes(place.path, follows(lookup), atim, mtim, flags);
  }

  // node:wasi fails with NOBUFS where readlink(2) fills the buffer and stops.
  #pathReadlink(fd: number, pointer: number, length: number, buffer: number, size: number, used: number): number {
    const place = this.#walk(fd, this.#text(pointer, length), false);
    if (typeof place === "number") return place;
    if (place === undefined) return this.#call("path_readlink", fd, pointer, length, buffer, size, used);
    const refused = this.#holds(fd, RIGHTS_PATH_READLINK);
    if (refused) return refused;
    let target: Buffer;
    try {
      target = this.#fs.readlinkSync(place.path, { encoding: "buffer" });
    } catch (err) {
      return errnoOf(err);
    }
    const written = target.subarray(0, size);
    this.#bytes(buffer, written.length).set(written);
    this.#view().setUint32(used, written.length, true);
    return 0;
  }

  // node:wasi leaves out `.` and `..`.
  #fdReaddir(fd: number, buffer: number, size: number, cookie: bigint, used: number): number {
    const place = this.#places.get(fd);
    if (place === undefined) return this.#call("fd_readdir", fd, buffer, size, cookie, used);
    const refused = this.#holds(fd, RIGHTS_FD_READDIR);
    if (refused) return refused;
    let entries;
    try {
      entries = this.#listing(place, cookie === 0n);
    } catch (err) {
      return errnoOf(err);
    }
    this.#view().setUint32(used, writeDirents(entries, Number(cookie), this.#bytes(buffer, size)), true);
    return 0;
  }
}

/**
 * Writes dirents from entry `cookie` on, one after another, into `out`, the
 * last cut short when it is full: a full buffer tells the program to ask
 * again from the last whole entry's d_next. Returns the bytes written.
 */
function writeDirents(entries: Entry[], cookie: number, out: Uint8Array): number {
  let at = 0;
  for (let index = cookie; index < entries.length && at < out.length; index++) {
    const { name, ino, type } = entries[index];
    const dirent = new DataView(new ArrayBuffer(DIRENT_SIZE));
    dirent.setBigUint64(0, BigInt(index + 1), true);
    dirent.setBigUint64(8, ino, true);
    dirent.setUint32(16, name.length, true);
    dirent.setUint8(20, type);
    const whole = Buffer.concat([new Uint8Array(dirent.buffer), name]);
    const fits = whole.subarray(0, out.length - at);
    out.set(fits, at);
    at += fits.length;
  }
  return at;
}

const follows = (flags: number) => (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

/** INVAL when a time is both given and "now" (WASI's fstflags rule), else 0. */
function badTimeFlags(flags: number): number {
  const both = (given: number, now: number) => (flags & given) !== 0 && (flags & now) !== 0;
  return both(FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW) || both(FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW) ? ERRNO_INVAL : 0;
}

/** The WASI errno for a node:fs error. */
function errnoOf(err: unknown): number {
  return ERRNO_BY_CODE[(err as NodeJS.ErrnoException).code ?? ""] ?? ERRNO_IO;
}

function filetype(stat: import("node:fs").BigIntStats): number {
  if (stat.isBlockDevice()) return FILETYPE_BLOCK_DEVICE;
  if (stat.isCharacterDevice()) return FILETYPE_CHARACTER_DEVICE;
  if (stat.isDirectory()) return FILETYPE_DIRECTORY;
  if (stat.isFile()) return FILETYPE_REGULAR_FILE;
  if (stat.isSocket()) return FILETYPE_SOCKET_STREAM;
  if (stat.isSymbolicLink()) return FILETYPE_SYMBOLIC_LINK;
  return FILETYPE_UNKNOWN;
}

/** utimensat(2) to the nanosecond through touch(1), for the access (-a) or modification (-m) time; leaves what node:fs set if it cannot. */
function touchExactly(host: string, follow: boolean, which: "-a" | "-m", ns: bigint): void {
  if (ns < 0n) return;
  const { spawnSync } = process.getBuiltinModule("node:child_process") as typeof import("node:child_process");
  const stamp = `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
  spawnSync("touch", ["-c", ...(follow ? [] : ["-h"]), which, "-d", stamp, "--", host], { stdio: "ignore" });
}
