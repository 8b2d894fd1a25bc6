/* --mqtt against Debian's mosquitto broker, started here on a free
 * loopback port, and a libmosquitto subscriber of the test's own: the
 * result messages are --json's frame records byte for byte; the status is
 * retained "online", and the will "offline" after kill -9; the state is
 * retained; a broker killed mid-run costs no inference (--json keeps
 * coming), camnet is back within 2 s of the broker, and the summary's
 * acknowledged + dropped + queued = records. */
#include "harness.h"
#include "outputs/mqtt.h"

#include <jansson.h>
#include <mosquitto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out[8192];

typedef struct msg {
  double t; /* cn_test_now() on arrival */
  char *topic, *payload;
  bool retained;
} msg_t;

typedef struct sub {
  struct mosquitto *m;
  pthread_mutex_t lock;
  msg_t *msgs;
  int n, cap;
  bool subscribed;
  char topic[256];
} sub_t;

static void sub_on_connect(struct mosquitto *m, void *obj, int rc) {
  sub_t *s = obj;
  if (!rc)
    mosquitto_subscribe(m, NULL, s->topic, 1);
}

static void sub_on_subscribe(struct mosquitto *m, void *obj, int mid, int n,
                             const int *granted) {
  (void)m, (void)mid, (void)n, (void)granted;
  sub_t *s = obj;
  pthread_mutex_lock(&s->lock);
  s->subscribed = true;
  pthread_mutex_unlock(&s->lock);
}

static void sub_on_message(struct mosquitto *m, void *obj,
                           const struct mosquitto_message *mm) {
  (void)m;
  sub_t *s = obj;
  pthread_mutex_lock(&s->lock);
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 256;
    s->msgs = realloc(s->msgs, (size_t)s->cap * sizeof *s->msgs);
  }
  msg_t *g = &s->msgs[s->n++];
  g->t = cn_test_now();
  g->topic = strdup(mm->topic);
  g->payload = strndup(mm->payload ? mm->payload : "", (size_t)mm->payloadlen);
  g->retained = mm->retain;
  pthread_mutex_unlock(&s->lock);
}

/* Subscribes to topic on 127.0.0.1:port; returns once the broker has the
 * subscription. */
static sub_t *sub_start(int port, const char *topic) {
  sub_t *s = calloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  snprintf(s->topic, sizeof s->topic, "%s", topic);
  s->m = mosquitto_new(NULL, true, s);
  assert_non_null(s->m);
  mosquitto_connect_callback_set(s->m, sub_on_connect);
  mosquitto_subscribe_callback_set(s->m, sub_on_subscribe);
  mosquitto_message_callback_set(s->m, sub_on_message);
  mosquitto_reconnect_delay_set(s->m, 1, 1, false);
  assert_int_equal(mosquitto_connect(s->m, "127.0.0.1", port, 30), 0);
  assert_int_equal(mosquitto_loop_start(s->m), 0);
  for (int i = 0; i < 200; i++) {
    pthread_mutex_lock(&s->lock);
    bool ok = s->subscribed;
    pthread_mutex_unlock(&s->lock);
    if (ok)
      return s;
    cn_test_sleep_ms(25);
  }
  fail_msg("no subscription on port %d", port);
  return NULL;
}

static void sub_stop(sub_t *s) {
  if (!s)
    return;
  mosquitto_disconnect(s->m);
  mosquitto_loop_stop(s->m, false);
  mosquitto_destroy(s->m);
  for (int i = 0; i < s->n; i++) {
    free(s->msgs[i].topic);
    free(s->msgs[i].payload);
  }
  free(s->msgs);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* Waits until a message on topic with payload arrives (index from on). */
static bool sub_wait(sub_t *s, const char *topic, const char *payload, int from,
                     int timeout_ms) {
  for (int w = 0; w < timeout_ms; w += 20) {
    pthread_mutex_lock(&s->lock);
    bool got = false;
    for (int i = from; i < s->n && !got; i++)
      got = !strcmp(s->msgs[i].topic, topic) &&
            (!payload || !strcmp(s->msgs[i].payload, payload));
    pthread_mutex_unlock(&s->lock);
    if (got)
      return true;
    cn_test_sleep_ms(20);
  }
  return false;
}

typedef struct fixture {
  char *dir;
  int port;
  pid_t broker, camnet;
  sub_t *sub;
} fixture_t;

static void start_broker(fixture_t *fx) {
  if (!cn_test_have("mosquitto"))
    CN_TEST_SKIP_MISSING("mosquitto", "no broker to test against");
  char conf[600], log[600];
  snprintf(conf, sizeof conf, "%s/mosquitto.conf", fx->dir);
  snprintf(log, sizeof log, "%s/mosquitto.log", fx->dir);
  FILE *f = fopen(conf, "w");
  assert_non_null(f);
  fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n",
          fx->port);
  fclose(f);
  char *argv[] = {"mosquitto", "-c", conf, NULL};
  fx->broker = cn_test_spawn(argv, log);
  assert_true(fx->broker > 0);
  assert_true(cn_test_wait_port(fx->port, 10000));
}

static int setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  fx->dir = cn_test_mkdtemp();
  fx->port = cn_test_free_port();
  mosquitto_lib_init();
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  sub_stop(fx->sub);
  cn_test_reap(&fx->camnet);
  cn_test_reap(&fx->broker);
  mosquitto_lib_cleanup();
  cn_test_release_dir(fx->dir);
  free(fx->dir);
  free(fx);
  return 0;
}

/* Starts camnet with MobileNetV2 on a test: source named cam1, --json to
 * dir/out.jsonl, --mqtt to the fixture's port, and extra arguments. */
static void start_camnet(fixture_t *fx, const char *instance,
                         const char *const *extra) {
  static char camnet[600], model[700], json[700], url[100], log[700];
  snprintf(camnet, sizeof camnet, "%s/camnet", cn_test_build_dir());
  snprintf(model, sizeof model, "%s/models/onnx-mobilenetv2/model.onnx",
           cn_test_source_dir());
  if (access(model, R_OK))
    CN_TEST_SKIP_MISSING("models/onnx-mobilenetv2", "no model");
  snprintf(json, sizeof json, "%s/out.jsonl", fx->dir);
  snprintf(url, sizeof url, "mqtt://127.0.0.1:%d", fx->port);
  snprintf(log, sizeof log, "%s/camnet.log", fx->dir);
  char *argv[40] = {
      camnet,      "--headless", "--model",       model,
      "--json",    json,         "--mqtt",        url,
      "--name",    "cam1",       "--instance-id", (char *)instance,
      "--threads", "1"};
  int n = 14;
  for (int i = 0; extra[i] && n < 38; i++)
    argv[n++] = (char *)extra[i];
  argv[n++] = "test:320x240@10";
  argv[n] = NULL;
  fx->camnet = cn_test_spawn(argv, log);
  assert_true(fx->camnet > 0);
}

/* Waits for camnet to end by itself; returns its exit status. */
static int wait_camnet(fixture_t *fx, int timeout_s) {
  int st = 0;
  for (int i = 0; i < timeout_s * 50; i++) {
    if (waitpid(fx->camnet, &st, WNOHANG) == fx->camnet) {
      fx->camnet = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    cn_test_sleep_ms(20);
  }
  fail_msg("camnet did not end within %d s", timeout_s);
  return -1;
}

typedef struct summary {
  unsigned long long records, results, states, skipped, published, acked,
      dropped, queued, connects;
} summary_t;

static summary_t read_summary(const fixture_t *fx) {
  cn_test_sh(out, sizeof out, "grep -a 'records (' %s/camnet.log", fx->dir);
  const char *p = strstr(out, "records (");
  if (!p) {
    cn_test_sh(out, sizeof out, "tail -5 %s/camnet.log", fx->dir);
    fail_msg("no mqtt summary: %s", out);
  }
  while (p > out && p[-1] != ' ')
    p--;
  while (p > out && p[-1] == ' ')
    p--;
  while (p > out && p[-1] != ' ')
    p--;
  summary_t s = {0};
  int n = sscanf(p,
                 "%llu records (%llu results, %llu states; %llu results left "
                 "out by --mqtt-rate), %llu published, %llu acknowledged, "
                 "%llu dropped, %llu queued, %llu connections",
                 &s.records, &s.results, &s.states, &s.skipped, &s.published,
                 &s.acked, &s.dropped, &s.queued, &s.connects);
  if (n != 9)
    fail_msg("summary not understood (%d fields): %s", n, p);
  return s;
}

/* The frame records of --json, one string each (NULL-ended, *n set). */
static char **json_frames(const fixture_t *fx, int *n) {
  char path[700];
  snprintf(path, sizeof path, "%s/out.jsonl", fx->dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char **lines = calloc(100000, sizeof *lines);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  *n = 0;
  while ((len = getline(&line, &cap, f)) > 0 && *n < 99999) {
    if (line[len - 1] == '\n')
      line[--len] = 0;
    if (!strncmp(line, "{\"type\":\"frame\"", 15))
      lines[(*n)++] = strdup(line);
  }
  free(line);
  fclose(f);
  return lines;
}

static void free_lines(char **l, int n) {
  for (int i = 0; i < n; i++)
    free(l[i]);
  free(l);
}

static void test_results_equal_json(void **state) {
  fixture_t *fx = *state;
  start_broker(fx);
  fx->sub = sub_start(fx->port, "camnet/t1/#");
  const char *extra[] = {"--frames", "40", NULL};
  start_camnet(fx, "t1", extra);
  assert_int_equal(wait_camnet(fx, 120), 0);
  /* The clean exit said "offline" after its last record. */
  assert_true(sub_wait(fx->sub, "camnet/t1/status", "offline", 0, 5000));
  int n = 0;
  char **lines = json_frames(fx, &n);
  assert_int_equal(n, 40);
  summary_t s = read_summary(fx);
  assert_int_equal(s.results, 40);
  assert_int_equal(s.acked + s.dropped + s.queued, s.records);
  assert_int_equal(s.acked, s.records);
  /* Every result message is --json's record, in order. */
  pthread_mutex_lock(&fx->sub->lock);
  int k = 0;
  for (int i = 0; i < fx->sub->n; i++) {
    msg_t *g = &fx->sub->msgs[i];
    if (strcmp(g->topic, "camnet/t1/cam1/result"))
      continue;
    assert_true(k < n);
    assert_string_equal(g->payload, lines[k]);
    k++;
  }
  pthread_mutex_unlock(&fx->sub->lock);
  assert_int_equal(k, 40);
  assert_true(strstr(lines[0], "\"top\":[{\"class\":") != NULL);
  free_lines(lines, n);
  /* Retained for a newcomer: the state (with its counters) and the
   * status. */
  sub_t *late = sub_start(fx->port, "camnet/t1/#");
  assert_true(sub_wait(late, "camnet/t1/status", "offline", 0, 3000));
  assert_true(sub_wait(late, "camnet/t1/cam1/state", NULL, 0, 3000));
  pthread_mutex_lock(&late->lock);
  for (int i = 0; i < late->n; i++) {
    if (strcmp(late->msgs[i].topic, "camnet/t1/cam1/state"))
      continue;
    assert_true(late->msgs[i].retained);
    json_t *j = json_loads(late->msgs[i].payload, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "cam1");
    assert_true(json_is_string(json_object_get(j, "state")));
    assert_true(json_is_integer(json_object_get(j, "captured")));
    json_decref(j);
  }
  pthread_mutex_unlock(&late->lock);
  sub_stop(late);
}

static void test_will_on_kill(void **state) {
  fixture_t *fx = *state;
  start_broker(fx);
  fx->sub = sub_start(fx->port, "camnet/t2/#");
  char listen[32];
  int hport = cn_test_free_port();
  snprintf(listen, sizeof listen, "127.0.0.1:%d", hport);
  const char *extra[] = {"--duration", "120", "--http", listen, NULL};
  start_camnet(fx, "t2", extra);
  assert_true(sub_wait(fx->sub, "camnet/t2/status", "online", 0, 60000));
  assert_true(sub_wait(fx->sub, "camnet/t2/cam1/result", NULL, 0, 60000));
  /* The HTTP output reports the MQTT one: /state and /metrics. */
  assert_int_equal(
      cn_test_sh(out, sizeof out, "curl -s -m 10 http://%s/state", listen), 0);
  json_t *st = json_loads(out, 0, NULL);
  assert_non_null(st);
  json_t *mq = json_object_get(st, "mqtt");
  assert_true(json_is_true(json_object_get(mq, "connected")));
  assert_true(json_integer_value(json_object_get(mq, "records")) >= 1);
  assert_int_equal(json_integer_value(json_object_get(mq, "connections")), 1);
  json_decref(st);
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "curl -s -m 10 http://%s/metrics | grep "
                              "'^camnet_mqtt_connected '",
                              listen),
                   0);
  assert_string_equal(out, "camnet_mqtt_connected 1\n");
  pthread_mutex_lock(&fx->sub->lock);
  int from = fx->sub->n;
  pthread_mutex_unlock(&fx->sub->lock);
  kill(fx->camnet, SIGKILL);
  cn_test_reap(&fx->camnet);
  double t0 = cn_test_now();
  assert_true(sub_wait(fx->sub, "camnet/t2/status", "offline", from, 10000));
  fprintf(stderr, "will 'offline' %.3f s after kill -9\n", cn_test_now() - t0);
  /* And it is retained. */
  sub_t *late = sub_start(fx->port, "camnet/t2/status");
  assert_true(sub_wait(late, "camnet/t2/status", "offline", 0, 3000));
  sub_stop(late);
}

/* The largest gap between consecutive --json frame records' t_wall within
 * [t0, t1] (epoch seconds), and how many fell in it. */
static double worst_gap(char **lines, int n, double t0, double t1, int *in) {
  double prev = 0, worst = 0;
  *in = 0;
  for (int i = 0; i < n; i++) {
    const char *p = strstr(lines[i], "\"t_wall\":");
    double t = p ? atof(p + 9) : 0;
    if (t < t0 || t > t1)
      continue;
    if (prev && t - prev > worst)
      worst = t - prev;
    prev = t;
    (*in)++;
  }
  return worst;
}

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_broker_outage(void **state) {
  fixture_t *fx = *state;
  start_broker(fx);
  fx->sub = sub_start(fx->port, "camnet/t3/cam1/result");
  const char *extra[] = {"--duration", "14", NULL};
  start_camnet(fx, "t3", extra);
  assert_true(sub_wait(fx->sub, "camnet/t3/cam1/result", NULL, 0, 60000));
  cn_test_sleep_ms(2000);
  sub_stop(fx->sub);
  fx->sub = NULL;
  double w_kill = wall_now();
  cn_test_stop(fx->broker, SIGKILL);
  fx->broker = 0;
  cn_test_sleep_ms(3000);
  double w_back = wall_now();
  start_broker(fx); /* same port */
  double t_back = cn_test_now();
  fx->sub = sub_start(fx->port, "camnet/t3/cam1/result");
  /* The records camnet queued meanwhile, then new ones: the first is the
   * moment camnet was connected again. */
  assert_true(sub_wait(fx->sub, "camnet/t3/cam1/result", NULL, 0, 5000));
  pthread_mutex_lock(&fx->sub->lock);
  double back = fx->sub->msgs[0].t - t_back;
  pthread_mutex_unlock(&fx->sub->lock);
  fprintf(stderr, "camnet published again %.3f s after the broker's return\n",
          back);
  assert_true(back < 2.0);
  assert_int_equal(wait_camnet(fx, 120), 0);
  int n = 0;
  char **lines = json_frames(fx, &n);
  int in = 0;
  double gap = worst_gap(lines, n, w_kill, w_back, &in);
  fprintf(stderr, "outage %.1f s: %d --json records in it, worst gap %.3f s\n",
          w_back - w_kill, in, gap);
  assert_true(in >= 10); /* 10 fps for 3 s: inference went on */
  assert_true(gap < 1.0);
  summary_t s = read_summary(fx);
  fprintf(stderr,
          "summary: %llu records, %llu acknowledged, %llu dropped, %llu "
          "queued, %llu connections\n",
          s.records, s.acked, s.dropped, s.queued, s.connects);
  assert_int_equal(s.results, (unsigned long long)n);
  assert_int_equal(s.acked + s.dropped + s.queued, s.records);
  assert_true(s.connects >= 2);
  free_lines(lines, n);
}

static void test_broker_down_at_start(void **state) {
  fixture_t *fx = *state;
  /* No broker yet: a warning, and the run goes on. */
  const char *extra[] = {"--duration", "8", NULL};
  start_camnet(fx, "t4", extra);
  cn_test_sleep_ms(2500);
  start_broker(fx);
  fx->sub = sub_start(fx->port, "camnet/t4/#");
  assert_true(sub_wait(fx->sub, "camnet/t4/cam1/result", NULL, 0, 5000));
  assert_true(sub_wait(fx->sub, "camnet/t4/status", "online", 0, 3000));
  assert_int_equal(wait_camnet(fx, 120), 0);
  cn_test_sh(out, sizeof out, "grep -c 'cannot connect now' %s/camnet.log",
             fx->dir);
  assert_int_equal(atoi(out), 1);
  summary_t s = read_summary(fx);
  assert_int_equal(s.acked + s.dropped + s.queued, s.records);
}

/* Result messages received on topic, each one of --json's lines. */
static int received_subset(sub_t *sub, const char *topic, char **lines, int n) {
  int k = 0;
  pthread_mutex_lock(&sub->lock);
  for (int i = 0; i < sub->n; i++) {
    if (strcmp(sub->msgs[i].topic, topic))
      continue;
    bool found = false;
    for (int j = 0; j < n && !found; j++)
      found = !strcmp(sub->msgs[i].payload, lines[j]);
    if (!found)
      fail_msg("not a --json record: %s", sub->msgs[i].payload);
    k++;
  }
  pthread_mutex_unlock(&sub->lock);
  return k;
}

/* --mqtt-rate 2: at most 2 results a second (3 s of 10 fps: at most 7
 * with the first); change:1: at least one a second; the rest are counted
 * as left out. */
static void test_rates(void **state) {
  fixture_t *fx = *state;
  start_broker(fx);
  static const char *const rates[] = {"2", "change:1"};
  for (int r = 0; r < 2; r++) {
    char inst[16], topic[64];
    snprintf(inst, sizeof inst, "r%d", r);
    snprintf(topic, sizeof topic, "camnet/%s/cam1/result", inst);
    fx->sub = sub_start(fx->port, topic);
    const char *extra[] = {"--frames", "30", "--mqtt-rate", rates[r], NULL};
    start_camnet(fx, inst, extra);
    assert_int_equal(wait_camnet(fx, 120), 0);
    int n = 0;
    char **lines = json_frames(fx, &n);
    summary_t s = read_summary(fx);
    int got = received_subset(fx->sub, topic, lines, n);
    fprintf(stderr, "--mqtt-rate %s: %d of %d results published\n", rates[r],
            got, n);
    assert_int_equal(n, 30);
    assert_int_equal(s.results + s.skipped, 30);
    assert_int_equal((unsigned long long)got, s.results);
    if (r == 0)
      assert_true(got >= 2 && got <= 7);
    else
      assert_true(got >= 3);
    free_lines(lines, n);
    sub_stop(fx->sub);
    fx->sub = NULL;
  }
}

/* The index of the first message on topic containing text (from on), or
 * -1 after timeout_ms. */
static int sub_find(sub_t *s, const char *topic, const char *text, int from,
                    int timeout_ms) {
  for (int w = 0; w < timeout_ms; w += 20) {
    pthread_mutex_lock(&s->lock);
    int at = -1;
    for (int i = from; i < s->n && at < 0; i++)
      if (!strcmp(s->msgs[i].topic, topic) && strstr(s->msgs[i].payload, text))
        at = i;
    pthread_mutex_unlock(&s->lock);
    if (at >= 0)
      return at;
    cn_test_sleep_ms(20);
  }
  return -1;
}

static void command(sub_t *s, const char *payload) {
  assert_int_equal(mosquitto_publish(s->m, NULL, "camnet/t5/cam1/set",
                                     (int)strlen(payload), payload, 1, false),
                   0);
}

/* set: OFF stops results (the state says detect false), a JSON command
 * turns detection on with a threshold that leaves every class out, a bad
 * payload is a warning. */
static void test_commands(void **state) {
  fixture_t *fx = *state;
  start_broker(fx);
  fx->sub = sub_start(fx->port, "camnet/t5/#");
  const char *extra[] = {"--duration", "60", NULL};
  start_camnet(fx, "t5", extra);
  const char *res = "camnet/t5/cam1/result", *st = "camnet/t5/cam1/state";
  assert_true(sub_find(fx->sub, res, "\"top\":[{", 0, 60000) >= 0);
  command(fx->sub, "OFF");
  int off = sub_find(fx->sub, st, "\"detect\":false", 0, 5000);
  assert_true(off >= 0);
  /* One record may have been on its way: then none. */
  cn_test_sleep_ms(500);
  pthread_mutex_lock(&fx->sub->lock);
  int mark = fx->sub->n;
  pthread_mutex_unlock(&fx->sub->lock);
  cn_test_sleep_ms(1500);
  assert_int_equal(sub_find(fx->sub, res, "", mark, 0), -1);
  command(fx->sub, "maybe");
  command(fx->sub, "{\"detect\":\"on\",\"threshold\":0.999}");
  int on =
      sub_find(fx->sub, st, "\"detect\":true,\"threshold\":0.999", mark, 5000);
  assert_true(on >= 0);
  /* Results again, every class under 0.999 left out. */
  int r1 = sub_find(fx->sub, res, "\"top\":[]", on, 5000);
  assert_true(r1 >= 0);
  assert_int_equal(sub_find(fx->sub, res, "\"top\":[{", on, 0), -1);
  assert_int_equal(cn_test_stop(fx->camnet, SIGTERM), 0);
  fx->camnet = 0;
  cn_test_sh(out, sizeof out,
             "grep -c 'not ON, OFF, a threshold' %s/camnet.log", fx->dir);
  assert_int_equal(atoi(out), 1);
}

/* The parsers against hand-worked answers. */
static void test_parse(void **state) {
  (void)state;
  cn_mqtt_url_t u;
  cn_err_t err = {0};
  assert_int_equal(
      cn_mqtt_parse_url("mqtts://me:p%40ss%3Aw@[::1]:9000/a/b/", &u, &err), 0);
  assert_true(u.tls);
  assert_string_equal(u.user, "me");
  assert_string_equal(u.password, "p@ss:w");
  assert_string_equal(u.host, "::1");
  assert_int_equal(u.port, 9000);
  assert_string_equal(u.prefix, "a/b");
  assert_int_equal(cn_mqtt_parse_url("mqtt://broker", &u, &err), 0);
  assert_false(u.tls || u.has_user || u.has_password);
  assert_int_equal(u.port, 1883);
  assert_string_equal(u.prefix, "camnet");
  assert_int_equal(cn_mqtt_parse_url("mqtts://b", &u, &err), 0);
  assert_int_equal(u.port, 8883);
  assert_int_equal(cn_mqtt_parse_url("mqtt://u:%zz@b", &u, &err), CN_EINVAL);
  assert_null(strstr(err.msg, "%zz"));
  cn_mqtt_rate_t r;
  assert_int_equal(cn_mqtt_parse_rate("change", &r, &err), 0);
  assert_true(r.kind == CN_MQTT_RATE_CHANGE && r.heartbeat_s == 10);
  assert_int_equal(cn_mqtt_parse_rate("change:2.5", &r, &err), 0);
  assert_true(r.heartbeat_s == 2.5);
  assert_int_equal(cn_mqtt_parse_rate("0.5", &r, &err), 0);
  assert_true(r.kind == CN_MQTT_RATE_MAX && r.per_s == 0.5);
  assert_int_equal(cn_mqtt_parse_rate("0", &r, &err), CN_EINVAL);
  assert_int_equal(cn_mqtt_parse_rate("change:", &r, &err), CN_EINVAL);
  static const struct {
    const char *payload;
    bool ok;
    int detect;
    double threshold;
  } cmds[] = {
      {"ON", true, 1, -1},
      {"off\n", true, 0, -1},
      {"detect On", true, 1, -1},
      {"0.75", true, -1, 0.75},
      {"1.5", false, -1, -1},
      {"{\"detect\":false}", true, 0, -1},
      {"{\"detect\":\"on\",\"threshold\":0.3}", true, 1, 0.3},
      {"{\"threshold\":0.3,\"zone\":1}", false, -1, 0.3},
      {"{}", false, -1, -1},
      {"maybe", false, -1, -1},
  };
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    cn_mqtt_cmd_t c;
    bool ok =
        cn_mqtt_parse_cmd(cmds[i].payload, (int)strlen(cmds[i].payload), &c);
    if (ok != cmds[i].ok || (ok && (c.detect != cmds[i].detect ||
                                    c.threshold != cmds[i].threshold)))
      fail_msg("%s: ok %d detect %d threshold %g", cmds[i].payload, ok,
               c.detect, c.threshold);
  }
}

static void test_usage_errors(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"--mqtt http://x", "option --mqtt: 'http://x' is not"},
      {"--mqtt mqtt://:1883", "has no host"},
      {"--mqtt mqtt://h:99999/x", "has a bad port"},
      {"--mqtt mqtt://u:secret@h/a/#", "'mqtt://h/a/#' has a bad topic"},
      {"--mqtt mqtt://h --mqtt-rate sometimes", "option --mqtt-rate:"},
      {"--mqtt mqtt://h --mqtt-cafile x", "needs an mqtts:// URL"},
      {"--mqtt-rate all", "option --mqtt-rate: needs --mqtt URL"},
      {"--mqtt mqtt://h --instance-id a/b", "option --instance-id:"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = cn_test_sh(out, sizeof out, "%s/camnet %s test: 2>&1",
                        cn_test_build_dir(), cases[i][0]);
    if (rc != 2 || !strstr(out, cases[i][1]))
      fail_msg("%s: exit %d, %s", cases[i][0], rc, out);
    assert_null(strstr(out, "secret"));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_usage_errors),
      cmocka_unit_test_setup_teardown(test_results_equal_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_will_on_kill, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broker_outage, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broker_down_at_start, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
