//! Exit handlers for Rust guests of wasm-atexit (docs/ABI.md).
//!
//! Include this file as a module (`mod wasm_atexit;`) and link with
//! `-C link-arg=--export-table`, so that the host can find your functions:
//!
//! ```ignore
//! extern "C" fn flush(db: usize) { /* ... */ }
//! wasm_atexit::register(flush, 7);
//! ```

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

/// Registers `handler(arg)` to run at exit; returns its handle.
pub fn register(handler: extern "C" fn(usize), arg: usize) -> Result<i32, Error> {
    // On wasm32 a function pointer is the function's index in the table.
    status(unsafe { atexit_register(handler as usize as i32, arg as i32) })
}

/// Registers `handler()` to run at exit; returns its handle.
pub fn register_no_arg(handler: extern "C" fn()) -> Result<i32, Error> {
    status(unsafe { atexit_register(handler as usize as i32, 0) })
}

/// Takes back one registration of this module.
pub fn unregister(handle: i32) -> Result<(), Error> {
    status(unsafe { atexit_unregister(handle) }).map(|_| ())
}

/// This module's pending registrations.
pub fn count() -> i32 {
    unsafe { atexit_count() }
}
