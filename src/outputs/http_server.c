/* The HTTP server: libmicrohttpd with a thread per connection (streams
 * block in their content readers, never in camnet's other threads),
 * limits, authentication and routing. See http.h for the contract and
 * http_internal.h for the parts.
 *
 * Limits: connections (--http-clients), request size (the connection's
 * memory: a larger request gets 431/414 from MHD), the idle timeout
 * (--http-timeout: a client that stops reading or sending is dropped),
 * only GET and HEAD (OPTIONS too with --http-cors), exact paths only (no
 * file system behind them: path tricks find nothing but 404).
 * Authentication (--http-token): "Authorization: Bearer T" on every
 * path, or the HttpOnly cookie a browser gets for "/?token=T" (an <img>
 * or an EventSource cannot send headers). Query strings are never
 * logged: MHD hands the path without them, and only the path is logged.
 */
#include "outputs/http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"

#define COOKIE "camnet_token"
#define REQUEST_MEMORY (32 * 1024)
#define STACK_SIZE (512 * 1024)

static cn__endpoint_t route(const char *url) {
  static const struct {
    const char *path;
    cn__endpoint_t ep;
  } routes[] = {{"/", CN__EP_PAGE},
                {"/stream", CN__EP_STREAM},
                {"/snapshot", CN__EP_SNAPSHOT},
                {"/events", CN__EP_EVENTS},
                {"/state", CN__EP_STATE},
                {"/healthz", CN__EP_HEALTHZ},
                {"/metrics", CN__EP_METRICS}};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (!strcmp(url, routes[i].path))
      return routes[i].ep;
  return CN__EP_OTHER;
}

/* Constant time: the token's length and contents leak no timing. */
static bool same_secret(const char *given, const char *token) {
  if (!given)
    return false;
  size_t a = strlen(given), b = strlen(token);
  unsigned diff = a != b;
  for (size_t i = 0; i < b; i++)
    diff |= (unsigned char)token[i] ^ (unsigned char)(i < a ? given[i] : 0);
  return diff == 0;
}

/* 0: allowed; 1: allowed by ?token= on the page (set the cookie). */
static int authorize(cn_http_t *h, struct MHD_Connection *c,
                     cn__endpoint_t ep) {
  if (!h->token)
    return 0;
  const char *auth =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (auth && !strncmp(auth, "Bearer ", 7) && same_secret(auth + 7, h->token))
    return 0;
  if (same_secret(MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE),
                  h->token))
    return 0;
  if (ep == CN__EP_PAGE && same_secret(MHD_lookup_connection_value(
                                           c, MHD_GET_ARGUMENT_KIND, "token"),
                                       h->token))
    return 1;
  return -1;
}

static void common_headers(cn_http_t *h, struct MHD_Response *r) {
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  if (h->cors) {
    MHD_add_response_header(r, "Access-Control-Allow-Origin", h->cors);
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
  }
}

static enum MHD_Result reply(cn_http_t *h, struct MHD_Connection *c,
                             unsigned status, struct MHD_Response *r) {
  common_headers(h, r);
  enum MHD_Result rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
}

/* A short text body (copied). */
static enum MHD_Result text(cn_http_t *h, struct MHD_Connection *c,
                            unsigned status, const char *type,
                            const char *body) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  if (status == MHD_HTTP_UNAUTHORIZED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            "Bearer realm=\"camnet\"");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
                            h->cors ? "GET, HEAD, OPTIONS" : "GET, HEAD");
  if (status >= 400)
    atomic_fetch_add(&h->refused, 1);
  return reply(h, c, status, r);
}

static enum MHD_Result fail(cn_http_t *h, struct MHD_Connection *c,
                            unsigned status, const char *why) {
  char body[300];
  snprintf(body, sizeof body, "%s\n", why);
  return text(h, c, status, "text/plain; charset=utf-8", body);
}

/* A malloc'd body, freed by MHD. */
static enum MHD_Result owned(cn_http_t *h, struct MHD_Connection *c,
                             unsigned status, const char *type, char *body) {
  if (!body)
    return fail(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  return reply(h, c, status, r);
}

/* Query value as an integer in [lo, hi]; def when absent; -1 bad. */
static int64_t int_arg(struct MHD_Connection *c, const char *key, int64_t def,
                       int64_t lo, int64_t hi) {
  const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
  if (!v)
    return def;
  char *end = NULL;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (!*v || *end || errno || n < lo || n > hi)
    return -1;
  return n;
}

/* source=, raw=, width=, fps=: 0, or the reason for a 400. */
static const char *pic_args(cn_http_t *h, struct MHD_Connection *c,
                            cn__pic_req_t *q) {
  int64_t k = int_arg(c, "source", 0, 0, h->o.nsources - 1);
  int64_t raw = int_arg(c, "raw", 0, 0, 1);
  int64_t width = int_arg(c, "width", 0, 16, 16384);
  const char *fps =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fps");
  if (k < 0)
    return "source: not a source number";
  if (raw < 0)
    return "raw: 0 or 1";
  if (width < 0)
    return "width: 16 to 16384";
  q->source = (int)k;
  q->raw = raw == 1;
  q->width = (int)width;
  q->fps = 0;
  if (fps) {
    char *end = NULL;
    q->fps = strtod(fps, &end);
    if (!*fps || *end || !(q->fps > 0 && q->fps <= 1000))
      return "fps: above 0, at most 1000";
  }
  cn_source_stats_t s;
  cn_source_get_stats(h->o.sources[k], &s);
  /* As wide as the picture or wider: the picture itself (one variant). */
  if (q->width && s.width > 0 && q->width >= s.width)
    q->width = 0;
  return NULL;
}

/* ?source=NAME (or its number) for /events; -1 all; -2 unknown. */
static int events_source(cn_http_t *h, struct MHD_Connection *c) {
  const char *v =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "source");
  if (!v)
    return -1;
  for (int k = 0; k < h->o.nsources; k++)
    if (!strcmp(v, h->o.names[k]))
      return k;
  int64_t k = int_arg(c, "source", -1, 0, h->o.nsources - 1);
  return k >= 0 ? (int)k : -2;
}

static enum MHD_Result pictures(cn_http_t *h, struct MHD_Connection *c,
                                cn__endpoint_t ep, bool head) {
  cn__pic_req_t q;
  const char *bad = pic_args(h, c, &q);
  if (bad)
    return fail(h, c, MHD_HTTP_BAD_REQUEST, bad);
  if (head)
    return text(h, c, MHD_HTTP_OK,
                ep == CN__EP_STREAM
                    ? "multipart/x-mixed-replace;boundary=camnetframe"
                    : "image/jpeg",
                "");
  int status = 0;
  struct MHD_Response *r = ep == CN__EP_STREAM
                               ? cn__stream_response(h, &q, &status)
                               : cn__snapshot_response(h, &q, &status);
  if (!r)
    return fail(h, c, (unsigned)status,
                ep == CN__EP_STREAM ? "no room for another variant"
                                    : "no picture yet");
  return reply(h, c, MHD_HTTP_OK, r);
}

static enum MHD_Result events(cn_http_t *h, struct MHD_Connection *c,
                              bool head) {
  int k = events_source(h, c);
  if (k == -2)
    return fail(h, c, MHD_HTTP_NOT_FOUND, "source: no such source");
  if (head)
    return text(h, c, MHD_HTTP_OK, "text/event-stream", "");
  const char *last =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
  uint64_t id = last ? strtoull(last, NULL, 10) : 0;
  struct MHD_Response *r = cn__events_response(h, k, id);
  if (!r)
    return fail(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
  return reply(h, c, MHD_HTTP_OK, r);
}

static enum MHD_Result page(cn_http_t *h, struct MHD_Connection *c,
                            bool set_cookie) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(cn__http_page), (void *)cn__http_page, MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "text/html; charset=utf-8");
  MHD_add_response_header(r, "Content-Security-Policy",
                          "default-src 'self'; script-src 'unsafe-inline'; "
                          "style-src 'unsafe-inline'; img-src 'self'");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  if (set_cookie) {
    char cookie[600];
    snprintf(cookie, sizeof cookie,
             COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/", h->token);
    MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
  }
  return reply(h, c, MHD_HTTP_OK, r);
}

static enum MHD_Result dispatch(cn_http_t *h, struct MHD_Connection *c,
                                cn__endpoint_t ep, bool head, int auth) {
  char why[CN_ERR_MSG_MAX + 64];
  switch (ep) {
  case CN__EP_PAGE:
    return page(h, c, auth == 1);
  case CN__EP_STREAM:
  case CN__EP_SNAPSHOT:
    return pictures(h, c, ep, head);
  case CN__EP_EVENTS:
    return events(h, c, head);
  case CN__EP_STATE:
    return owned(h, c, MHD_HTTP_OK, "application/json", cn__http_state_json(h));
  case CN__EP_HEALTHZ: {
    int sick = cn__http_health(h, why, sizeof why - 1);
    strcat(why, "\n");
    return text(h, c, sick ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
                "text/plain; charset=utf-8", why);
  }
  case CN__EP_METRICS:
    return owned(h, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                 cn__http_metrics(h));
  default:
    return fail(h, c, MHD_HTTP_NOT_FOUND, "not found");
  }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req) {
  (void)upload;
  cn_http_t *h = cls;
  if (!*req) {
    *req = h; /* first call: the headers are in */
    /* From now on the request is answered or streamed: the idle timeout
     * replaces the (shorter) one for headers. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned)h->o.timeout_s);
  }
  *upload_size = 0; /* a body is never read */
  cn__endpoint_t ep = route(url);
  atomic_fetch_add(&h->requests[ep], 1);
  cn_log(h->o.log, CN_LOG_DEBUG, "http", "%s %s", method,
         ep == CN__EP_OTHER ? "(unknown path)" : url);
  /* HTTP/1.1 requires Host (RFC 9112, 3.2); MHD does not check it. */
  if (!strcmp(version, MHD_HTTP_VERSION_1_1) &&
      !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
    return fail(h, c, MHD_HTTP_BAD_REQUEST, "no Host header");
  int auth = authorize(h, c, ep);
  if (auth < 0)
    return fail(h, c, MHD_HTTP_UNAUTHORIZED, "unauthorized");
  if (ep == CN__EP_OTHER)
    return fail(h, c, MHD_HTTP_NOT_FOUND, "not found");
  bool head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
  if (h->cors && !strcmp(method, MHD_HTTP_METHOD_OPTIONS)) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Authorization, Last-Event-ID");
    return reply(h, c, MHD_HTTP_NO_CONTENT, r);
  }
  if (!head && strcmp(method, MHD_HTTP_METHOD_GET))
    return fail(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
  return dispatch(h, c, ep, head, auth);
}

/* %00 in a path or value would cut it short ("/state%00" is not
 * "/state"): such text stays escaped, so it matches nothing. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
  (void)cls;
  (void)c;
  for (const char *p = s; (p = strchr(p, '%')) != NULL; p++)
    if (p[1] == '0' && p[2] == '0')
      return strlen(s);
  return MHD_http_unescape(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  cn_http_t *h = cls;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  line[strcspn(line, "?\n")] = 0; /* never a query string */
  cn_log(h->o.log, CN_LOG_DEBUG, "http", "%s", line);
}

typedef struct listen_addr {
  struct sockaddr_storage sa;
  bool v6, loopback;
  char text[80];
} listen_addr_t;

/* [ADDR:]PORT, ADDR an IPv4 address or [IPv6]. */
static int parse_listen(const char *spec, listen_addr_t *a, cn_err_t *err) {
  char host[64] = "127.0.0.1";
  const char *port = spec;
  const char *colon = strrchr(spec, ':');
  if (colon) {
    size_t n = (size_t)(colon - spec);
    if (spec[0] == '[' && n >= 2 && spec[n - 1] == ']')
      spec++, n -= 2;
    if (n == 0 || n >= sizeof host)
      goto bad;
    memcpy(host, spec, n);
    host[n] = 0;
    port = colon + 1;
  }
  char *end = NULL;
  long p = strtol(port, &end, 10);
  if (!*port || *end || p < 0 || p > 65535)
    goto bad;
  memset(&a->sa, 0, sizeof a->sa);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&a->sa;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->sa;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)p);
    a->loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    a->v6 = false;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)p);
    a->loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    a->v6 = true;
  } else {
    goto bad;
  }
  snprintf(a->text, sizeof a->text, a->v6 ? "[%s]" : "%s", host);
  return 0;
bad:
  return cn_err_set(err, CN_EINVAL,
                    "option --http: '%s' is not [ADDR:]PORT (an IPv4 "
                    "address or [IPv6], port 0 to 65535)",
                    spec);
}

static char *read_pem(const char *path, const char *opt, cn_err_t *err) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  if (f) {
    buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf && n)
      return buf;
  }
  free(buf);
  cn_err_set(err, CN_EINVAL, "option %s: %s: %s", opt, path,
             f ? "empty or unreadable" : strerror(errno));
  return NULL;
}

static int start(cn_http_t *h, const listen_addr_t *a, char *cert, char *key,
                 cn_err_t *err) {
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  if (a->v6)
    flags |= MHD_USE_IPv6;
  struct MHD_OptionItem tls[] = {
      {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
      {MHD_OPTION_END, 0, NULL}};
  if (cert)
    flags |= MHD_USE_TLS;
  /* Until the request is in, a shorter timeout (slow headers). */
  unsigned header_timeout = h->o.timeout_s < 5 ? (unsigned)h->o.timeout_s : 5;
  h->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &a->sa,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->o.max_clients,
      MHD_OPTION_CONNECTION_TIMEOUT, header_timeout,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)REQUEST_MEMORY,
      MHD_OPTION_THREAD_STACK_SIZE, (size_t)STACK_SIZE,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_UNESCAPE_CALLBACK,
      unescape, h, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
  if (!h->daemon)
    return cn_err_set(err, CN_EIO, "option --http: cannot listen on %s:%d%s%s",
                      a->text,
                      ntohs(a->v6 ? ((struct sockaddr_in6 *)&a->sa)->sin6_port
                                  : ((struct sockaddr_in *)&a->sa)->sin_port),
                      errno ? ": " : "", errno ? strerror(errno) : "");
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : 0;
  return 0;
}

static int check_opts(const cn_http_opts_t *o, cn_err_t *err) {
  if ((o->cert != NULL) != (o->key != NULL))
    return cn_err_set(err, CN_EINVAL,
                      "option --http-cert: give both --http-cert and "
                      "--http-key");
  if (o->cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
    return cn_err_set(err, CN_EUNSUPPORTED,
                      "option --http-cert: this libmicrohttpd has no TLS; "
                      "put camnet behind a reverse proxy (README)");
  if (o->token && !o->token[0])
    return cn_err_set(err, CN_EINVAL, "option --http-token: empty token");
  if (o->nsources < 1 || o->nsources > CN_HTTP_MAX_SOURCES)
    return cn_err_set(err, CN_EINVAL, "http: 1 to %d sources",
                      CN_HTTP_MAX_SOURCES);
  return 0;
}

int cn_http_open(const cn_http_opts_t *opts, cn_http_t **out, cn_err_t *err) {
  *out = NULL;
  listen_addr_t a;
  int rc = check_opts(opts, err);
  if (!rc)
    rc = parse_listen(opts->listen, &a, err);
  if (rc)
    return rc;
  cn_http_t *h = calloc(1, sizeof *h);
  if (!h)
    return cn_err_set(err, CN_ENOMEM, "http: out of memory");
  h->o = *opts;
  for (int k = 0; k < opts->nsources; k++) {
    h->srcs[k] = opts->sources[k];
    h->names[k] = opts->names[k];
  }
  h->o.sources = h->srcs;
  h->o.names = h->names;
  h->o.max_clients = opts->max_clients > 0 ? opts->max_clients : 32;
  h->o.timeout_s = opts->timeout_s > 0 ? opts->timeout_s : 10;
  h->t_start = h->t_tick = cn_clock_now();
  pthread_mutex_init(&h->rate_lock, NULL);
  h->token = opts->token ? strdup(opts->token) : NULL;
  h->cors = opts->cors ? strdup(opts->cors) : NULL;
  char *cert = NULL, *key = NULL;
  if (opts->cert && (!(cert = read_pem(opts->cert, "--http-cert", err)) ||
                     !(key = read_pem(opts->key, "--http-key", err))))
    rc = CN_EINVAL;
  if (!rc)
    rc = cn__events_create(&h->events, err);
  if (!rc)
    rc = cn__store_create(opts->nsources, h->o.max_clients, opts->log,
                          cn__http_tick, h, &h->store, err);
  if (!rc)
    rc = start(h, &a, cert, key, err);
  free(cert);
  free(key);
  if (rc) {
    cn_http_close(h);
    return rc;
  }
  cn_log(opts->log, CN_LOG_INFO, "http", "serving %s://%s:%d/",
         opts->cert ? "https" : "http", a.text, h->port);
  if (!a.loopback && !h->token)
    cn_log(opts->log, CN_LOG_WARN, "http",
           "listening on %s beyond loopback without --http-token: anyone "
           "who reaches this port sees the cameras",
           a.text);
  *out = h;
  return 0;
}

void cn_http_close(cn_http_t *h) {
  if (!h)
    return;
  atomic_store(&h->stopping, true);
  /* Clients blocked in a reader return now, so MHD can join them. */
  if (h->store)
    cn__store_stop(h->store);
  if (h->events)
    cn__events_stop(h->events);
  if (h->daemon)
    MHD_stop_daemon(h->daemon);
  cn__store_destroy(h->store);
  cn__events_destroy(h->events);
  pthread_mutex_destroy(&h->rate_lock);
  free(h->token);
  free(h->cors);
  free(h);
}

int cn_http_port(const cn_http_t *h) { return h ? h->port : 0; }

void cn_http_set_model(cn_http_t *h, const char *name, const char *task,
                       const char *backend) {
  pthread_mutex_lock(&h->rate_lock);
  snprintf(h->model, sizeof h->model, "%s", name ? name : "");
  snprintf(h->task, sizeof h->task, "%s", task ? task : "");
  snprintf(h->backend, sizeof h->backend, "%s", backend ? backend : "");
  pthread_mutex_unlock(&h->rate_lock);
  atomic_store(&h->have_model, name != NULL);
}

bool cn_http_wants(cn_http_t *h, int k, cn_http_kind_t kind) {
  return h && cn__store_wants(h->store, k, kind);
}

void cn_http_post(cn_http_t *h, cn_frame_t *pic, cn_http_kind_t kind) {
  if (h)
    cn__store_post(h->store, pic, kind);
}

int cn_http_sink_add(cn_http_t *h, cn_fanout_t *fo, cn_err_t *err) {
  return cn__events_sink_add(h->events, fo, err);
}
