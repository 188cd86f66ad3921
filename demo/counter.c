/* The demo's program, in C: the seed's counter, kept in /data/counter-c and
 * saved by an exit handler on the shared stack, and the goodbye, whose
 * argument is a struct. It also counts in the AssemblyScript library. */
#include <stdint.h>
#include <stdio.h>
#include "wasm_atexit.h"

__attribute__((import_module("counter_as"), import_name("increment"))) int32_t as_increment(int32_t n);

static int count;

static void save_counter(void *file) {
  FILE *out = fopen(file, "w");
  if (!out) return;
  fprintf(out, "%d", count);
  fclose(out);
  printf("C saved its counter, %d\n", count);
}

struct person {
  const char *name;
  const char *adjective;
};
static void goodbye(void *arg) {
  const struct person *who = arg;
  printf("Goodbye, %s, it was %s to meet you. (from C)\n", who->name, who->adjective);
}
static struct person donny = {"Donny", "nice"};

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0); /* handlers print after libc's exit has flushed */
  static char file[] = "/data/counter-c";
  FILE *in = fopen(file, "r");
  if (in) {
    if (fscanf(in, "%d", &count) != 1) count = 0;
    fclose(in);
  }
  count += 1;
  wasm_atexit_register(save_counter, file);
  wasm_atexit_register(goodbye, &donny);
  printf("C counter is %d; AssemblyScript counter is %d\n", count, as_increment(1));
  return 0;
}
