// `--dir` as a sandbox (SPEC W6). node:wasi checks a path only lexically
// and for a symbolic link as its last component, so a link in the middle of
// a path (`box/root/etc/passwd`, with `box/root -> /`) leads the kernel out
// of the directory. Here every path a program passes to a `path_*` function
// is walked first, component by component, from the real directory its fd
// stands for, expanding each symbolic link the call would follow; a walk
// that leaves the preopened directory it started in fails with NOTCAPABLE,
// as under wasmtime. Only a walk that stays inside is handed to node:wasi.
//
// What this cannot isolate: a hard link made inside the directory by
// someone else to a file outside it (it is a file of the directory), and a
// component swapped for a link by another host process between the check
// and the call.

const ERRNO_LOOP = 32;
const ERRNO_NOTCAPABLE = 76;
const LOOKUP_SYMLINK_FOLLOW = 1;
// Linux follows at most 40 links in one path.
const MAX_LINKS = 40;

type Fs = typeof import("node:fs");
type Path = typeof import("node:path");
type WasiFunction = (...args: number[]) => number;

/** What an fd of the program stands for: a real host path, and the preopened directory it lies in. */
interface Place {
  path: string;
  root: string;
}

/**
 * Wraps node:wasi's imports so that no path leaves the `preopens`.
 * `preopens` is the object given to node:wasi, which numbers its
 * directories from fd 3 in `Object.keys` order. Call `bind` with the
 * instance's memory before the program runs.
 */
export function confine(imports: Record<string, unknown>, preopens: Record<string, string>) {
  const fs = process.getBuiltinModule("node:fs") as Fs;
  const path = process.getBuiltinModule("node:path") as Path;
  const places = new Map<number, Place>();
  Object.values(preopens).forEach((host, index) => {
    const root = fs.realpathSync(host);
    places.set(3 + index, { path: root, root });
  });
  let memory: WebAssembly.Memory | undefined;
  const decoder = new TextDecoder();
  const text = (pointer: number, length: number) => decoder.decode(new Uint8Array(memory!.buffer, pointer, length));
  const original = (name: string) => imports[name] as WasiFunction;

  /**
   * Where `guestPath`, relative to fd `dirFd`, leads: a Place, or an errno
   * when it leaves its directory. `undefined` when the fd is not one we
   * know: node:wasi answers those itself (EBADF, ENOTDIR).
   */
  function walk(dirFd: number, guestPath: string, followLast: boolean): Place | number | undefined {
    const start = places.get(dirFd);
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
        current = path.dirname(current);
        if (!inside(current, root)) return ERRNO_NOTCAPABLE;
        continue;
      }
      const next = path.join(current, part);
      const isLast = pending.every((rest) => rest === "" || rest === ".");
      let target: string | undefined;
      try {
        if ((!isLast || followLast) && fs.lstatSync(next).isSymbolicLink()) target = fs.readlinkSync(next);
      } catch {
        // Missing (a file about to be created) or unreadable: node:wasi's
        // own call gives the right error, and the path so far is inside.
      }
      if (target === undefined) {
        current = next;
        continue;
      }
      if (++links > MAX_LINKS) return ERRNO_LOOP;
      if (target.startsWith("/")) return ERRNO_NOTCAPABLE;
      pending.push(...target.split("/").reverse());
    }
    return inside(current, root) ? { path: current, root } : ERRNO_NOTCAPABLE;
  }

  /** node:wasi's `name`, called only when each path argument stays inside. */
  function guarded(name: string, paths: (args: number[]) => [fd: number, pointer: number, length: number, follow: boolean][]): WasiFunction {
    const call = original(name);
    return (...args) => {
      for (const [fd, pointer, length, follow] of paths(args)) {
        const place = walk(fd, text(pointer, length), follow);
        if (typeof place === "number") return place;
      }
      return call(...args);
    };
  }

  const follows = (flags: number) => (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
  const pathOpen = original("path_open");
  const fdClose = original("fd_close");
  const fdRenumber = original("fd_renumber");
  return {
    imports: {
      ...imports,
      path_open: (fd: number, dirFlags: number, pointer: number, length: number, ...rest: number[]) => {
        const place = walk(fd, text(pointer, length), follows(dirFlags));
        if (typeof place === "number") return place;
        const errno = pathOpen(fd, dirFlags, pointer, length, ...rest);
        // The new fd may be a directory that later calls are relative to.
        if (errno === 0 && place !== undefined) places.set(new DataView(memory!.buffer).getUint32(rest.at(-1)!, true), place);
        return errno;
      },
      fd_close: (fd: number) => {
        const errno = fdClose(fd);
        if (errno === 0) places.delete(fd);
        return errno;
      },
      fd_renumber: (from: number, to: number) => {
        const errno = fdRenumber(from, to);
        if (errno === 0) {
          const place = places.get(from);
          places.delete(from);
          if (place) places.set(to, place);
          else places.delete(to);
        }
        return errno;
      },
      path_create_directory: guarded("path_create_directory", ([fd, p, n]) => [[fd, p, n, false]]),
      path_remove_directory: guarded("path_remove_directory", ([fd, p, n]) => [[fd, p, n, false]]),
      path_unlink_file: guarded("path_unlink_file", ([fd, p, n]) => [[fd, p, n, false]]),
      path_readlink: guarded("path_readlink", ([fd, p, n]) => [[fd, p, n, false]]),
      path_filestat_get: guarded("path_filestat_get", ([fd, flags, p, n]) => [[fd, p, n, follows(flags)]]),
      path_filestat_set_times: guarded("path_filestat_set_times", ([fd, flags, p, n]) => [[fd, p, n, follows(flags)]]),
      path_symlink: guarded("path_symlink", ([, , fd, p, n]) => [[fd, p, n, false]]),
      path_link: guarded("path_link", ([fd, flags, p, n, newFd, newP, newN]) => [
        [fd, p, n, follows(flags)],
        [newFd, newP, newN, false],
      ]),
      path_rename: guarded("path_rename", ([fd, p, n, newFd, newP, newN]) => [
        [fd, p, n, false],
        [newFd, newP, newN, false],
      ]),
    },
    bind(instance: object) {
      const exported = (instance as WebAssembly.Instance).exports.memory;
      if (exported instanceof WebAssembly.Memory) memory = exported;
    },
  };
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}
