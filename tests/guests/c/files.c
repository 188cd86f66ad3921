// A program that touches files as its arguments say, for the --dir sandbox
// tests (SPEC W6): each of "read PATH", "write PATH", "stat PATH",
// "mkdir PATH", "unlink PATH", "rename FROM TO", "link FROM TO" and
// "symlink TARGET PATH" prints one line, "ok" or the error.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int run(const char *op, const char *path, const char *other) {
  if (!strcmp(op, "read")) {
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    char line[128] = {0};
    fgets(line, sizeof line - 1, file);
    fclose(file);
    line[strcspn(line, "\n")] = 0;
    printf("read %s: %s\n", path, line);
    return 0;
  }
  if (!strcmp(op, "write")) {
    FILE *file = fopen(path, "w");
    if (!file) return -1;
    fputs("written\n", file);
    return fclose(file);
  }
  struct stat info;
  if (!strcmp(op, "stat")) return stat(path, &info);
  if (!strcmp(op, "mkdir")) return mkdir(path, 0777);
  if (!strcmp(op, "unlink")) return unlink(path);
  if (!strcmp(op, "rename")) return rename(path, other);
  if (!strcmp(op, "link")) return link(path, other);
  if (!strcmp(op, "symlink")) return symlink(path, other);
  errno = EINVAL;
  return -1;
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *op = argv[i], *path = argv[i + 1];
    int two = !strcmp(op, "rename") || !strcmp(op, "link") || !strcmp(op, "symlink");
    const char *other = two && i + 2 < argc ? argv[i + 2] : NULL;
    if (run(op, path, other) == 0) {
      if (strcmp(op, "read")) printf("%s %s: ok\n", op, path);
    } else {
      printf("%s %s: %s\n", op, path, strerror(errno));
    }
    if (two) i++;
  }
  return 0;
}
