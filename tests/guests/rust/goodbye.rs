//! A WASI library in Rust ("rustlib") for SPEC W4: its handler prints a
//! partial line, which Rust's stdout keeps in its LineWriter until the
//! SDK's flush after the handler.

#[path = "../../../sdk/rust/wasm_atexit.rs"]
#[allow(dead_code)] // this library uses one function of the SDK
mod wasm_atexit;

extern "C" fn goodbye() {
    print!("Rust SDK handler says goodbye, on a partial line: ");
}

#[no_mangle]
pub extern "C" fn register_goodbye() -> i32 {
    match wasm_atexit::register_no_arg(goodbye) {
        Ok(handle) => handle,
        Err(error) => error as i32,
    }
}
