/* --mqtt URL and --mqtt-rate: pure parsing, so a bad value is a usage
 * error before anything opens. */
#include "outputs/mqtt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <strings.h>

#include "camnet/redact.h"

/* Copies in[0..n) to out, decoding %XX (user names and passwords may hold
 * ':', '@' or '/' only that way). Returns false on a bad escape or
 * overflow. */
static bool copy_decoded(const char *in, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)in[i];
    if (c == '%') {
      char hex[3] = {0};
      if (i + 2 >= n || !isxdigit((unsigned char)in[i + 1]) ||
          !isxdigit((unsigned char)in[i + 2]))
        return false;
      memcpy(hex, in + i + 1, 2);
      c = (int)strtol(hex, NULL, 16);
      i += 2;
    }
    if (o + 1 >= cap || c == 0)
      return false;
    out[o++] = (char)c;
  }
  out[o] = 0;
  return true;
}

static int bad(cn_err_t *err, const char *url, const char *why) {
  char shown[512];
  cn_redact_uri(url, shown, sizeof shown);
  return cn_err_set(err, CN_EINVAL, "option --mqtt: '%s' %s", shown, why);
}

/* user[:password] before the last '@' of the authority. */
static int parse_userinfo(const char *s, size_t n, cn_mqtt_url_t *u) {
  const char *colon = memchr(s, ':', n);
  size_t un = colon ? (size_t)(colon - s) : n;
  if (!copy_decoded(s, un, u->user, sizeof u->user))
    return -1;
  u->has_user = true;
  if (colon) {
    if (!copy_decoded(colon + 1, n - un - 1, u->password, sizeof u->password))
      return -1;
    u->has_password = true;
  }
  return 0;
}

/* host[:port] or [v6][:port]. */
static int parse_hostport(const char *s, size_t n, cn_mqtt_url_t *u) {
  const char *port = NULL;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close || (size_t)(close - s) - 1 >= sizeof u->host)
      return -1;
    memcpy(u->host, s + 1, (size_t)(close - s) - 1);
    u->host[close - s - 1] = 0;
    if (close + 1 < s + n) {
      if (close[1] != ':')
        return -1;
      port = close + 2;
    }
  } else {
    const char *colon = memchr(s, ':', n);
    size_t hn = colon ? (size_t)(colon - s) : n;
    if (hn >= sizeof u->host)
      return -1;
    memcpy(u->host, s, hn);
    u->host[hn] = 0;
    port = colon ? colon + 1 : NULL;
  }
  if (!u->host[0])
    return -1;
  if (port) {
    char *end = NULL;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (errno || end == port || end != s + n || p < 1 || p > 65535)
      return -2;
    u->port = (int)p;
  }
  return 0;
}

/* The prefix: path segments, no wildcards, no empty segment. */
static int parse_prefix(const char *s, cn_mqtt_url_t *u) {
  while (*s == '/')
    s++;
  size_t n = strlen(s);
  while (n && s[n - 1] == '/')
    n--;
  if (!n)
    return 0; /* keep the default */
  if (n >= sizeof u->prefix || memchr(s, '+', n) || memchr(s, '#', n) ||
      memchr(s, '?', n))
    return -1;
  memcpy(u->prefix, s, n);
  u->prefix[n] = 0;
  return strstr(u->prefix, "//") ? -1 : 0;
}

int cn_mqtt_parse_url(const char *url, cn_mqtt_url_t *u, cn_err_t *err) {
  memset(u, 0, sizeof *u);
  snprintf(u->prefix, sizeof u->prefix, "camnet");
  const char *rest;
  if (!strncmp(url, "mqtt://", 7)) {
    rest = url + 7;
  } else if (!strncmp(url, "mqtts://", 8)) {
    rest = url + 8;
    u->tls = true;
  } else {
    return bad(err, url, "is not an mqtt:// or mqtts:// URL");
  }
  u->port = u->tls ? 8883 : 1883;
  size_t alen = strcspn(rest, "/");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++)
    if (rest[i] == '@')
      at = rest + i;
  if (at && parse_userinfo(rest, (size_t)(at - rest), u))
    return bad(err, url, "has a bad user name or password (escape with %XX)");
  const char *hp = at ? at + 1 : rest;
  int rc = parse_hostport(hp, (size_t)(rest + alen - hp), u);
  if (rc == -2)
    return bad(err, url, "has a bad port (1 to 65535)");
  if (rc)
    return bad(err, url, "has no host");
  if (parse_prefix(rest + alen, u))
    return bad(err, url,
               "has a bad topic prefix (no '+', '#', '?' or empty level)");
  return 0;
}

int cn_mqtt_parse_rate(const char *s, cn_mqtt_rate_t *out, cn_err_t *err) {
  *out = (cn_mqtt_rate_t){CN_MQTT_RATE_ALL, 0, 10};
  if (!s || !strcmp(s, "all"))
    return 0;
  char *end = NULL;
  if (!strncmp(s, "change", 6)) {
    out->kind = CN_MQTT_RATE_CHANGE;
    if (!s[6])
      return 0;
    errno = 0;
    double h = s[6] == ':' ? strtod(s + 7, &end) : NAN;
    if (s[6] != ':' || errno || end == s + 7 || *end || !(h > 0) || h > 86400)
      return cn_err_set(err, CN_EINVAL,
                        "option --mqtt-rate: '%s': the heartbeat after "
                        "change: is seconds, more than 0 and at most 86400",
                        s);
    out->heartbeat_s = h;
    return 0;
  }
  errno = 0;
  double n = strtod(s, &end);
  if (errno || end == s || *end || !(n > 0) || n > 1000)
    return cn_err_set(err, CN_EINVAL,
                      "option --mqtt-rate: '%s' is not all, change[:S] or "
                      "records per second (more than 0, at most 1000)",
                      s);
  out->kind = CN_MQTT_RATE_MAX;
  out->per_s = n;
  return 0;
}

/* "on"/"off"/true/false as detect: 1, 0, or -2 (not a switch). */
static int switch_of(const char *s, size_t n) {
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  while (n && *s == ' ')
    s++, n--;
  if (n > 7 && !strncasecmp(s, "detect ", 7))
    s += 7, n -= 7;
  if ((n == 2 && !strncasecmp(s, "on", 2)) ||
      (n == 4 && !strncasecmp(s, "true", 4)))
    return 1;
  if ((n == 3 && !strncasecmp(s, "off", 3)) ||
      (n == 5 && !strncasecmp(s, "false", 5)))
    return 0;
  return -2;
}

static bool threshold_of(const char *s, double *out) {
  char buf[64];
  size_t n = strlen(s);
  if (!n || n >= sizeof buf)
    return false;
  memcpy(buf, s, n + 1);
  char *end = NULL;
  errno = 0;
  double v = strtod(buf, &end);
  while (end && (*end == ' ' || *end == '\n' || *end == '\r'))
    end++;
  if (errno || end == buf || *end || !(v >= 0 && v <= 1))
    return false;
  *out = v;
  return true;
}

static bool json_cmd(const char *payload, int len, cn_mqtt_cmd_t *cmd) {
  json_t *j = json_loadb(payload, (size_t)len, 0, NULL);
  bool ok = json_is_object(j) && json_object_size(j);
  const char *key;
  json_t *v;
  json_object_foreach(j, key, v) {
    if (!ok)
      break;
    if (!strcmp(key, "detect")) {
      const char *s = json_string_value(v);
      cmd->detect = json_is_boolean(v) ? json_is_true(v)
                    : s                ? switch_of(s, strlen(s))
                                       : -2;
      ok = cmd->detect != -2;
    } else if (!strcmp(key, "threshold")) {
      double t = json_number_value(v);
      ok = json_is_number(v) && t >= 0 && t <= 1;
      cmd->threshold = t;
    } else {
      ok = false; /* a key we do not know: say so rather than half-apply */
    }
  }
  json_decref(j);
  return ok;
}

bool cn_mqtt_parse_cmd(const char *payload, int len, cn_mqtt_cmd_t *cmd) {
  *cmd = (cn_mqtt_cmd_t){-1, -1};
  if (len <= 0 || len > 1024)
    return false;
  if (payload[0] == '{')
    return json_cmd(payload, len, cmd);
  char text[1025];
  memcpy(text, payload, (size_t)len);
  text[len] = 0;
  if (strlen(text) != (size_t)len)
    return false;
  int d = switch_of(text, (size_t)len);
  if (d >= 0) {
    cmd->detect = d;
    return true;
  }
  return threshold_of(text, &cmd->threshold);
}
