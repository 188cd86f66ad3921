// What Emscripten's exit drops, in one C++ library module (no main): a
// static destructor, an atexit() handler, and partial lines on stdout and
// stderr. tests/emscripten.test.mjs runs its three builds (tests/guests/build.mjs).
#include <cstdio>
#include <cstdlib>
#include <emscripten.h>

struct Closer {
  ~Closer() { std::printf("c++: static destructor\n"); }
};

static void on_exit() { std::printf("c: atexit handler\n"); }

static int exit_code = 0;
static void exit_with_code() { std::exit(exit_code); }

extern "C" {
// Registers the destructor (of a function-local static, with __cxa_atexit)
// and leaves a line unfinished on each stream.
EMSCRIPTEN_KEEPALIVE void setup() {
  static Closer closer;
  std::printf("c: partial stdout line");
  std::fprintf(stderr, "c: partial stderr line");
}

EMSCRIPTEN_KEEPALIVE void add_handler() { std::atexit(on_exit); }

// An atexit() handler that calls exit(code).
EMSCRIPTEN_KEEPALIVE void add_exit_handler(int code) {
  exit_code = code;
  std::atexit(exit_with_code);
}
}
