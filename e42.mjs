import atexit from "wasm-atexit";
atexit.register(42);
