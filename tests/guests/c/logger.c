/* The logger guest, in C: each handler passes its argument to the host's
 * env.log, so a test sees the order and the arguments. */
#include <stdint.h>
#include "wasm_atexit.h"

__attribute__((import_module("env"), import_name("log"))) void host_log(int32_t value);

static void log_value(void *arg) { host_log((int32_t)(uintptr_t)arg); }
static void log_zero(void) { host_log(0); }
static void fail(void *arg) { (void)arg; __builtin_trap(); }
static void register_another(void *arg) {
  host_log((int32_t)(uintptr_t)arg);
  wasm_atexit_register(log_value, (void *)((uintptr_t)arg + 1));
}

__attribute__((export_name("register_log"))) int32_t register_log(int32_t value) {
  return wasm_atexit_register(log_value, (void *)(uintptr_t)value);
}
__attribute__((export_name("register_log_no_arg"))) int32_t register_log_no_arg(void) {
  return wasm_atexit_register_void(log_zero);
}
__attribute__((export_name("register_failing"))) int32_t register_failing(void) {
  return wasm_atexit_register(fail, 0);
}
__attribute__((export_name("register_registering"))) int32_t register_registering(int32_t value) {
  return wasm_atexit_register(register_another, (void *)(uintptr_t)value);
}
__attribute__((export_name("cancel"))) int32_t cancel(int32_t handle) { return wasm_atexit_unregister(handle); }
__attribute__((export_name("pending"))) int32_t pending(void) { return wasm_atexit_count(); }
