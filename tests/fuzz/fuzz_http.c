/* Fuzz target: bytes as an HTTP request to the live view's server
 * (outputs/http.h), over a real socket, as a client would send them. The
 * server runs once per process on 127.0.0.1 (a free port) with a test:
 * source whose frames a feeder thread posts while someone watches, as
 * the program's renderers do. Any input must end in a status line or a
 * closed connection; ASan/UBSan/TSan catch the rest. cn_fuzz_outcome is
 * "status NNN" or "closed" (replay.c checks it for the named seeds). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "camnet/source.h"
#include "outputs/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

char cn_fuzz_outcome[1024];

typedef struct server {
  cn_source_t *src;
  cn_http_t *http;
  pthread_t feeder;
  atomic_bool stop;
} server_t;

static server_t the_server;

/* The program's renderers in small: the newest frame, raw, to whoever
 * watches. */
static void *feed(void *arg) {
  server_t *s = arg;
  uint64_t last = 0;
  while (!atomic_load(&s->stop)) {
    cn_frame_t *f = NULL;
    if (cn_source_take(s->src, last, 100 * 1000000, &f, NULL, NULL))
      continue;
    last = f->seq;
    if (cn_http_wants(s->http, 0, CN_HTTP_RAW))
      cn_http_post(s->http, f, CN_HTTP_RAW);
    cn_frame_unref(&f);
  }
  return NULL;
}

/* At exit: the server's connection threads are joined (TSan reports
 * threads left running), the source stopped. */
static void shutdown_server(void) {
  server_t *s = &the_server;
  atomic_store(&s->stop, true);
  pthread_join(s->feeder, NULL);
  cn_http_close(s->http);
  cn_source_destroy(s->src);
}

static server_t *server(void) {
  server_t *sp = &the_server;
  static const char *names[] = {"fuzz"};
  if (sp->http)
    return sp;
  cn_source_opts_t so;
  cn_source_opts_default(&so);
  so.uri = "test:96x64@30";
  cn_logger_t quiet = {.level = CN_LOG_QUIET};
  static cn_logger_t log;
  log = quiet;
  so.log = &log;
  cn_err_t err = {0};
  if (cn_source_create(&so, &sp->src, &err) || cn_source_start(sp->src, &err)) {
    fprintf(stderr, "fuzz_http: %s\n", err.msg);
    abort();
  }
  cn_http_opts_t ho = {.listen = "127.0.0.1:0",
                       .timeout_s = 2,
                       .sources = &sp->src,
                       .names = names,
                       .nsources = 1,
                       .log = &log};
  if (cn_http_open(&ho, &sp->http, &err)) {
    fprintf(stderr, "fuzz_http: %s\n", err.msg);
    abort();
  }
  pthread_create(&sp->feeder, NULL, feed, sp);
  atexit(shutdown_server);
  return sp;
}

/* Sends the bytes, reads up to the status line. */
static void request(int port, const uint8_t *data, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "closed");
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "cannot connect");
    close(fd);
    return;
  }
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    sent += (size_t)n;
  }
  shutdown(fd, SHUT_WR);
  char line[64] = "";
  size_t got = 0;
  while (got < sizeof line - 1 && !memchr(line, '\n', got)) {
    ssize_t n = recv(fd, line + got, sizeof line - 1 - got, 0);
    if (n <= 0)
      break;
    got += (size_t)n;
    line[got] = 0;
  }
  int status = 0;
  if (sscanf(line, "HTTP/1.%*d %d", &status) == 1)
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "status %d", status);
  close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  server_t *s = server();
  request(cn_http_port(s->http), data, size);
  return 0;
}
