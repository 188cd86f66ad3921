//! Exit handlers for Rust guests of wasm-atexit (docs/ABI.md).
//!
//! Include this file as a module (`mod wasm_atexit;`) and link with
//! `-C link-arg=--export-table`, so that the host can find your functions:
//!
//! ```ignore
//! extern "C" fn flush(db: usize) { /* ... */ }
//! wasm_atexit::register(flush, 7);
//! ```
//!
//! What a handler prints reaches stdout and stderr, pipes and files
//! included (SPEC W4): each registration calls its handler through
//! `run_entry`, which flushes both after it. Rust's stdout keeps a partial
//! line in its `LineWriter`, and in a library nothing else flushes it.

#[link(wasm_import_module = "atexit")]
extern "C" {
    #[link_name = "register"]
    fn atexit_register(function: i32, arg: i32) -> i32;
    #[link_name = "unregister"]
    fn atexit_unregister(handle: i32) -> i32;
    #[link_name = "count"]
    fn atexit_count() -> i32;
}

/// A status code of the ABI: what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    NoMemory = -1,
    NotPending = -2,
    NotOwner = -3,
    Quota = -4,
    Disposed = -5,
    BadIndex = -6,
    BadSignature = -7,
    NoTable = -8,
}

fn status(code: i32) -> Result<i32, Error> {
    match code {
        -1 => Err(Error::NoMemory),
        -2 => Err(Error::NotPending),
        -3 => Err(Error::NotOwner),
        -4 => Err(Error::Quota),
        -5 => Err(Error::Disposed),
        -6 => Err(Error::BadIndex),
        -7 => Err(Error::BadSignature),
        -8 => Err(Error::NoTable),
        code => Ok(code),
    }
}

/// One registration, on the heap until the host calls it back.
enum Entry {
    WithArg(extern "C" fn(usize), usize),
    NoArg(extern "C" fn()),
}

/// What the host calls for each registration: the handler, then a flush.
extern "C" fn run_entry(entry: usize) {
    // Taken back before the call, so that a handler that exits or traps leaks nothing.
    let entry = *unsafe { Box::from_raw(entry as *mut Entry) };
    match entry {
        Entry::WithArg(handler, arg) => handler(arg),
        Entry::NoArg(handler) => handler(),
    }
    flush_stdio();
}

#[cfg(target_os = "wasi")]
fn flush_stdio() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

/// wasm32-unknown-unknown has no stdout or stderr to flush.
#[cfg(not(target_os = "wasi"))]
fn flush_stdio() {}

/// Queues `run_entry` with a heap copy of `entry`; one the host refuses is
/// freed, one unregistered keeps its few bytes.
fn queue(entry: Entry) -> Result<i32, Error> {
    let entry = Box::into_raw(Box::new(entry));
    // On wasm32 a function pointer is the function's index in the table.
    let answer = status(unsafe { atexit_register(run_entry as usize as i32, entry as usize as i32) });
    if answer.is_err() {
        drop(unsafe { Box::from_raw(entry) });
    }
    answer
}

/// Registers `handler(arg)` to run at exit; returns its handle.
pub fn register(handler: extern "C" fn(usize), arg: usize) -> Result<i32, Error> {
    queue(Entry::WithArg(handler, arg))
}

/// Registers `handler()` to run at exit; returns its handle.
pub fn register_no_arg(handler: extern "C" fn()) -> Result<i32, Error> {
    queue(Entry::NoArg(handler))
}

/// Takes back one registration of this module.
pub fn unregister(handle: i32) -> Result<(), Error> {
    status(unsafe { atexit_unregister(handle) }).map(|_| ())
}

/// This module's pending registrations.
pub fn count() -> i32 {
    unsafe { atexit_count() }
}
