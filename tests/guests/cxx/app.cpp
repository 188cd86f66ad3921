// A C++ WASI command written with no knowledge of wasm-atexit, using the
// library libdb. `app [code]`: exit(code) from main, or return 0.
#include <cstdio>
#include <cstdlib>

extern "C" __attribute__((import_module("libdb"), import_name("db_init"))) int db_init();

struct Logger {
  ~Logger() { std::printf("app static destructor\n"); }
};
static Logger logger;

static void bye() { std::printf("app atexit handler\n"); }

int main(int argc, char **argv) {
  atexit(bye);
  if (db_init() != 0) std::printf("db_init failed\n");
  std::printf("main done\n");
  if (argc > 1) exit(std::atoi(argv[1]));
  return 0;
}
