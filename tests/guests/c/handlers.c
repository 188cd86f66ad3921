// A C command using plain atexit(), linked with libwasm-atexit, for the
// command's endings (SPEC W4, W5). `handlers <how>`:
//   <n>     registers a handler that calls exit(n) during the drain
//   loop    prints "looping" and never returns
//   flood   writes 8 MiB to stdout
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int code;

static void exits(void) {
  printf("handler exits with %d\n", code);
  exit(code);
}

static void older(void) { printf("older C handler\n"); }

int main(int argc, char **argv) {
  const char *how = argc > 1 ? argv[1] : "0";
  if (strcmp(how, "loop") == 0) {
    printf("looping\n");
    fflush(stdout);
    volatile int spin = 1;
    while (spin) {
    }
  }
  if (strcmp(how, "flood") == 0) {
    static char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 8 * 1024; i++) fwrite(line, 1, sizeof line, stdout);
    return 0;
  }
  code = atoi(how);
  atexit(older);
  atexit(exits);
  printf("main returns\n");
  return 0;
}
