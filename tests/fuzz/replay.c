/* Corpus replay for builds without libFuzzer: runs the target once on every
 * file named on the command line or found in a named directory (arguments
 * starting with '-' are libFuzzer flags and are ignored). Exit status 0 when
 * every input ran; a crash or sanitizer report fails the test.
 *
 * -expect=FILE: lines "NAME<TAB>OUTCOME". After each input the target's
 * cn_fuzz_outcome must equal the OUTCOME of the input's file name; every
 * input not named fz_* (those libFuzzer found) must have a line, and every
 * line an input. -outcomes prints "NAME<TAB>OUTCOME" for each input, the
 * way to write such a file. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern char cn_fuzz_outcome[1024];

#define MAX_EXPECT 256
static struct {
  char name[128];
  char outcome[1024];
  int seen;
} expect[MAX_EXPECT];
static int nexpect, print_outcomes;

static int read_expect(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  char line[1300];
  while (fgets(line, sizeof line, f) && nexpect < MAX_EXPECT) {
    char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
    if (line[0] == '#' || !tab)
      continue;
    if (nl)
      *nl = 0;
    *tab = 0;
    snprintf(expect[nexpect].name, sizeof expect[0].name, "%.127s", line);
    snprintf(expect[nexpect].outcome, sizeof expect[0].outcome, "%.1023s",
             tab + 1);
    nexpect++;
  }
  fclose(f);
  return 0;
}

/* 0 when the outcome of input `path` is the expected one (or none is
 * needed). */
static int check_outcome(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (print_outcomes)
    printf("%s\t%s\n", base, cn_fuzz_outcome);
  if (!nexpect)
    return 0;
  for (int i = 0; i < nexpect; i++) {
    if (strcmp(expect[i].name, base))
      continue;
    expect[i].seen = 1;
    if (!strcmp(expect[i].outcome, cn_fuzz_outcome))
      return 0;
    fprintf(stderr, "replay: %s: \"%s\", expected \"%s\"\n", base,
            cn_fuzz_outcome, expect[i].outcome);
    return 1;
  }
  if (!strncmp(base, "fz_", 3))
    return 0;
  fprintf(stderr, "replay: %s: a named seed without an expected outcome\n",
          base);
  return 1;
}

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf)
      break;
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (!got)
      break;
    n += got;
  }
  fclose(f);
  if (!buf)
    return 1;
  /* An exact-size copy, so ASan sees reads past the input. */
  uint8_t *exact = malloc(n ? n : 1);
  if (!exact) {
    free(buf);
    return 1;
  }
  memcpy(exact, buf, n);
  free(buf);
  cn_fuzz_outcome[0] = 0;
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return check_outcome(path);
}

int main(int argc, char **argv) {
  int files = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "-expect=", 8))
      bad |= read_expect(argv[i] + 8);
    print_outcomes |= !strcmp(argv[i], "-outcomes");
  }
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-')
      continue;
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *e;
      while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
          continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
        bad |= run_file(p);
        files++;
      }
      if (d)
        closedir(d);
    } else {
      bad |= run_file(argv[i]);
      files++;
    }
  }
  for (int i = 0; i < nexpect; i++)
    if (!expect[i].seen) {
      fprintf(stderr, "replay: %s: expected, but not in the corpus\n",
              expect[i].name);
      bad = 1;
    }
  fprintf(stderr, "replay: %d inputs, %d with an expected outcome\n", files,
          nexpect);
  return bad || files == 0;
}
