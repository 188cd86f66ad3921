// A C++ WASI library written with no knowledge of wasm-atexit: a static
// object, a function-local static and a plain atexit() handler. Linked
// with -lwasm-atexit, all three join the shared stack (SPEC G8).
#include <cstdio>
#include <cstdlib>

struct Db {
  const char *name;
  explicit Db(const char *n) : name(n) { std::printf("open %s\n", name); }
  ~Db() { std::printf("close %s\n", name); }
};

static Db db("libdb"); // its destructor is registered when _initialize runs

static void flush_db() { std::printf("libdb atexit handler\n"); }

extern "C" __attribute__((export_name("db_init"))) int db_init() {
  static Db cache("libdb cache"); // registered at first use
  return atexit(flush_db);
}
