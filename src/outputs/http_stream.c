/* The long responses: /stream (MJPEG), /events (SSE), and /snapshot.
 *
 * Each stream client runs in its connection's thread (libmicrohttpd's
 * thread per connection), blocking in the content reader until the next
 * picture or record exists; it holds one encoded picture at a time (the
 * one being sent) and always takes the newest, so a slow client skips.
 * A client that stops reading blocks MHD's send until the connection's
 * idle timeout drops it.
 *
 * Advance headers: Chromium draws a multipart part only once the next
 * boundary arrives, so the boundary and the part's known header
 * (Content-Type) go out right after each picture, not before the next.
 */
#include "outputs/http_internal.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"

#define BOUNDARY "camnetframe"
#define PART_START "--" BOUNDARY "\r\nContent-Type: image/jpeg\r\n"
#define WAIT_SLICE CN_NS_PER_S
#define SNAPSHOT_WAIT (3 * CN_NS_PER_S)

typedef struct pic_client {
  cn_http_t *h;
  cn__variant_t *v;
  int source;
  cn__jpeg_t *cur;
  uint64_t after;
  int64_t gap, next_due;
  int phase; /* 0: part start, 1: part headers, 2: picture */
  char head[256];
  size_t head_len, off;
} pic_client_t;

/* Copies what is left of src (len) from c->off into buf. */
static size_t emit(pic_client_t *c, const void *src, size_t len, char *buf,
                   size_t max) {
  size_t n = len - c->off < max ? len - c->off : max;
  memcpy(buf, (const char *)src + c->off, n);
  c->off += n;
  return n;
}

static bool finished(cn_http_t *h, int k) {
  cn_source_stats_t s;
  cn_source_get_stats(h->o.sources[k], &s);
  return s.finished;
}

/* Waits for the next picture to send; 0, or an MHD end code. */
static ssize_t next_picture(pic_client_t *c) {
  cn__store_t *s = c->h->store;
  if (c->gap && cn__store_sleep(s, c->next_due))
    return MHD_CONTENT_READER_END_WITH_ERROR;
  for (;;) {
    int rc =
        cn__store_next(s, c->v, c->after, cn_clock_now() + WAIT_SLICE, &c->cur);
    if (rc == 0)
      break;
    if (rc == CN_ECLOSED)
      return MHD_CONTENT_READER_END_WITH_ERROR;
    if (finished(c->h, c->source))
      return MHD_CONTENT_READER_END_OF_STREAM;
  }
  cn__jpeg_t *j = c->cur;
  c->after = j->gen;
  int64_t now = cn_clock_now();
  c->next_due = now + c->gap;
  int64_t age = j->seq ? now - j->t_capture : 0;
  c->head_len = (size_t)snprintf(
      c->head, sizeof c->head,
      "Content-Length: %lu\r\nX-Camnet-Frame: %" PRIu64
      "\r\nX-Camnet-Capture-Time: %.3f\r\nX-Camnet-Age-Ms: %.1f\r\n%s\r\n",
      j->len, j->seq, (double)j->t_wall / 1e9, (double)age / 1e6,
      j->seq ? "" : "X-Camnet-Offline: 1\r\n");
  return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  pic_client_t *c = cls;
  for (;;) {
    if (c->phase == 0) {
      size_t n = emit(c, PART_START, sizeof PART_START - 1, buf, max);
      if (c->off == sizeof PART_START - 1) {
        c->phase = 1;
        c->off = 0;
      }
      return (ssize_t)n;
    }
    if (c->phase == 1) {
      if (!c->cur) {
        ssize_t rc = next_picture(c);
        if (rc)
          return rc;
      }
      size_t n = emit(c, c->head, c->head_len, buf, max);
      if (c->off == c->head_len) {
        c->phase = 2;
        c->off = 0;
      }
      return (ssize_t)n;
    }
    size_t n = emit(c, c->cur->data, c->cur->len, buf, max);
    if (c->off == c->cur->len) {
      /* The picture is out: at once the boundary after it (below). */
      cn__store_unref(c->h->store, &c->cur);
      c->phase = 0;
      c->off = 0;
      if (n + 2 <= max) {
        memcpy(buf + n, "\r\n", 2);
        n += 2;
        size_t m = emit(c, PART_START, sizeof PART_START - 1, buf + n, max - n);
        n += m;
        if (c->off == sizeof PART_START - 1) {
          c->phase = 1;
          c->off = 0;
        }
        return (ssize_t)n;
      }
      c->phase = 3;
    }
    return (ssize_t)n;
  }
}

/* phase 3: the CRLF after a picture did not fit; sent alone. */
static ssize_t stream_read_outer(void *cls, uint64_t pos, char *buf,
                                 size_t max) {
  pic_client_t *c = cls;
  if (c->phase == 3) {
    memcpy(buf, "\r\n", 2);
    c->phase = 0;
    c->off = 0;
    return 2;
  }
  return stream_read(cls, pos, buf, max);
}

static void stream_free(void *cls) {
  pic_client_t *c = cls;
  cn__store_unref(c->h->store, &c->cur);
  cn__store_leave(c->h->store, c->v);
  atomic_fetch_sub(&c->h->clients[CN__EP_STREAM], 1);
  free(c);
}

struct MHD_Response *cn__stream_response(cn_http_t *h, const cn__pic_req_t *q,
                                         int *status) {
  pic_client_t *c = calloc(1, sizeof *c);
  if (!c) {
    *status = MHD_HTTP_SERVICE_UNAVAILABLE;
    return NULL;
  }
  c->h = h;
  c->source = q->source;
  c->gap = q->fps > 0 ? (int64_t)(1e9 / q->fps) : 0;
  c->v = cn__store_join(h->store, q->source, q->raw, q->width, &c->after);
  if (!c->v) {
    free(c);
    *status = MHD_HTTP_SERVICE_UNAVAILABLE;
    return NULL;
  }
  atomic_fetch_add(&h->clients[CN__EP_STREAM], 1);
  struct MHD_Response *r = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, 32 * 1024, stream_read_outer, c, stream_free);
  if (!r) {
    stream_free(c);
    *status = MHD_HTTP_SERVICE_UNAVAILABLE;
    return NULL;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "multipart/x-mixed-replace;boundary=" BOUNDARY);
  return r;
}

static void add_pic_headers(struct MHD_Response *r, const cn__jpeg_t *j) {
  char v[64];
  snprintf(v, sizeof v, "%" PRIu64, j->seq);
  MHD_add_response_header(r, "X-Camnet-Frame", v);
  snprintf(v, sizeof v, "%.3f", (double)j->t_wall / 1e9);
  MHD_add_response_header(r, "X-Camnet-Capture-Time", v);
  snprintf(v, sizeof v, "%.1f",
           j->seq ? (double)(cn_clock_now() - j->t_capture) / 1e6 : 0.0);
  MHD_add_response_header(r, "X-Camnet-Age-Ms", v);
  if (!j->seq)
    MHD_add_response_header(r, "X-Camnet-Offline", "1");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "image/jpeg");
}

struct MHD_Response *cn__snapshot_response(cn_http_t *h, const cn__pic_req_t *q,
                                           int *status) {
  uint64_t after = 0;
  cn__variant_t *v =
      cn__store_join(h->store, q->source, q->raw, q->width, &after);
  *status = MHD_HTTP_SERVICE_UNAVAILABLE;
  if (!v)
    return NULL;
  atomic_fetch_add(&h->clients[CN__EP_SNAPSHOT], 1);
  cn__jpeg_t *j = NULL;
  struct MHD_Response *r = NULL;
  if (!cn__store_next(h->store, v, after, cn_clock_now() + SNAPSHOT_WAIT, &j)) {
    r = MHD_create_response_from_buffer(j->len, j->data, MHD_RESPMEM_MUST_COPY);
    if (r)
      add_pic_headers(r, j);
    cn__store_unref(h->store, &j);
  }
  cn__store_leave(h->store, v);
  atomic_fetch_sub(&h->clients[CN__EP_SNAPSHOT], 1);
  if (r)
    *status = MHD_HTTP_OK;
  return r;
}

/* ---- /events ------------------------------------------------------- */

typedef struct sse_client {
  cn_http_t *h;
  int source;
  uint64_t after;
  char *buf;
  size_t cap, len, off;
  int64_t keepalive;
} sse_client_t;

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max) {
  (void)pos;
  sse_client_t *c = cls;
  while (c->off == c->len) {
    c->off = c->len = 0;
    long n = cn__events_next(c->h->events, &c->after, c->source, &c->buf,
                             &c->cap, cn_clock_now() + c->keepalive);
    if (n < 0)
      return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0) {
      /* Nothing for a while: a comment keeps proxies and timeouts off. */
      static const char ka[] = ": keepalive\n\n";
      if (c->cap < sizeof ka) {
        char *d = realloc(c->buf, 64);
        if (!d)
          return MHD_CONTENT_READER_END_WITH_ERROR;
        c->buf = d;
        c->cap = 64;
      }
      memcpy(c->buf, ka, sizeof ka - 1);
      n = (long)sizeof ka - 1;
    }
    c->len = (size_t)n;
  }
  size_t n = c->len - c->off < max ? c->len - c->off : max;
  memcpy(out, c->buf + c->off, n);
  c->off += n;
  return (ssize_t)n;
}

static void sse_free(void *cls) {
  sse_client_t *c = cls;
  atomic_fetch_sub(&c->h->clients[CN__EP_EVENTS], 1);
  free(c->buf);
  free(c);
}

struct MHD_Response *cn__events_response(cn_http_t *h, int source,
                                         uint64_t last_id) {
  sse_client_t *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->h = h;
  c->source = source;
  /* Without Last-Event-ID: from now on. */
  c->after = last_id ? last_id : cn__events_last(h->events, NULL);
  int t = h->o.timeout_s > 2 ? h->o.timeout_s / 2 : 1;
  c->keepalive = (t < 5 ? t : 5) * CN_NS_PER_S;
  atomic_fetch_add(&h->clients[CN__EP_EVENTS], 1);
  struct MHD_Response *r = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, c, sse_free);
  if (!r) {
    sse_free(c);
    return NULL;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
  return r;
}
