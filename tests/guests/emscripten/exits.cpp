// What Emscripten's exit drops, in one C++ library module (no main): a
// static destructor, an atexit() handler, and partial lines on stdout and
// stderr. tests/emscripten.test.mjs runs its three builds (tests/guests/build.mjs).
#include <cstdio>
#include <cstdlib>
#include <emscripten.h>

struct Closer {
  ~Closer() { std::printf("c++: static destructor\n"); }
};

// No newline: what a handler leaves unfinished must reach the pipe before the next handler runs.
static void on_exit() { std::printf("c: atexit handler"); }

static int exit_code = 0;
static void exit_with_code() { std::exit(exit_code); }

extern "C" {
// Leaves a line unfinished on each stream.
EMSCRIPTEN_KEEPALIVE void print_partial() {
  std::printf("c: partial stdout line");
  std::fprintf(stderr, "c: partial stderr line");
}

// Registers the destructor (of a function-local static, with __cxa_atexit)
// and leaves a line unfinished on each stream.
EMSCRIPTEN_KEEPALIVE void setup() {
  static Closer closer;
  print_partial();
}

// Returns atexit()'s result: non-zero when the handler cannot be registered.
EMSCRIPTEN_KEEPALIVE int add_handler() { return std::atexit(on_exit); }

// Aborts the module: Emscripten's abort() marks it dead.
EMSCRIPTEN_KEEPALIVE void fail() { std::abort(); }

// An atexit() handler that calls exit(code).
EMSCRIPTEN_KEEPALIVE void add_exit_handler(int code) {
  exit_code = code;
  std::atexit(exit_with_code);
}
}
