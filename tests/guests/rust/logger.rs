//! The logger guest, in Rust: each handler passes its argument to the
//! host's env.log, so a test sees the order and the arguments.

#[path = "../../../sdk/rust/wasm_atexit.rs"]
mod wasm_atexit;

#[link(wasm_import_module = "env")]
extern "C" {
    fn log(value: i32);
}

extern "C" fn log_value(value: usize) {
    unsafe { log(value as i32) }
}
extern "C" fn log_zero() {
    unsafe { log(0) }
}
extern "C" fn fail(_: usize) {
    core::arch::wasm32::unreachable()
}
extern "C" fn register_another(value: usize) {
    unsafe { log(value as i32) };
    let _ = wasm_atexit::register(log_value, value + 1);
}

fn code(result: Result<i32, wasm_atexit::Error>) -> i32 {
    match result {
        Ok(handle) => handle,
        Err(error) => error as i32,
    }
}

#[no_mangle]
pub extern "C" fn register_log(value: i32) -> i32 {
    code(wasm_atexit::register(log_value, value as usize))
}
#[no_mangle]
pub extern "C" fn register_log_no_arg() -> i32 {
    code(wasm_atexit::register_no_arg(log_zero))
}
#[no_mangle]
pub extern "C" fn register_failing() -> i32 {
    code(wasm_atexit::register(fail, 0))
}
#[no_mangle]
pub extern "C" fn register_registering(value: i32) -> i32 {
    code(wasm_atexit::register(register_another, value as usize))
}
#[no_mangle]
pub extern "C" fn cancel(handle: i32) -> i32 {
    match wasm_atexit::unregister(handle) {
        Ok(()) => 0,
        Err(error) => error as i32,
    }
}
#[no_mangle]
pub extern "C" fn pending() -> i32 {
    wasm_atexit::count()
}
