/* cn_mqtt: results and state on an MQTT broker (libmosquitto).
 *
 * Topics (PREFIX and INSTANCE from the URL and --instance-id, NAME the
 * source's name with '/', '+' and '#' replaced by '_'):
 *   PREFIX/INSTANCE/NAME/result  the --json `frame` records that carry a
 *                                result, byte for byte (the record sink
 *                                gets them from the fan-out, fanout.h),
 *                                thinned by --mqtt-rate;
 *   PREFIX/INSTANCE/NAME/state   retained: the source's state and counters,
 *                                on every online/offline change and every
 *                                --mqtt-state-every seconds;
 *   PREFIX/INSTANCE/status       retained "online" on every connect;
 *                                "offline" as the last will and on a clean
 *                                exit;
 *   PREFIX/INSTANCE/NAME/set     subscribed: commands (ON, OFF, a
 *                                threshold, or JSON {"detect":..,
 *                                "threshold":..}) passed to opts.on_set,
 *                                then the state is published again.
 *
 * Threads: the fan-out's sink thread copies each record into a bounded
 * ring of preallocated buffers that drops the oldest when full (so the
 * pipeline never waits on the network: the fan-out's own queue for this
 * sink drops too); a publisher thread of ours hands the ring's oldest
 * record to libmosquitto while connected and while fewer than a window of
 * messages wait for their PUBACK; libmosquitto's loop thread
 * (mosquitto_loop_start) does the network, reconnects and calls back.
 * Counts: records = acknowledged + dropped + queued at any quiet moment,
 * queued being in the ring or handed over and not yet acknowledged (QoS 0:
 * "acknowledged" is "written to the socket").
 *
 * Lifecycle: cn_mqtt_parse_opts (options; usage errors) -> cn_mqtt_open
 * (never fails for a broker that is down: it warns and keeps retrying) ->
 * cn_mqtt_set_results -> cn_mqtt_sink_add -> records -> cn_fanout_close
 * (drains the ring, waiting up to 2 s for acknowledgements) ->
 * cn_mqtt_get_stats -> cn_mqtt_close (status "offline", disconnect).
 * The sources and names must outlive the object.
 * Errors: one line naming the option and what is wrong.
 */
#ifndef CN_OUTPUTS_MQTT_H
#define CN_OUTPUTS_MQTT_H

#include <stdbool.h>
#include <stdint.h>

#include "camnet/error.h"
#include "camnet/log.h"
#include "camnet/source.h"
#include "outputs/fanout.h"

#define CN_MQTT_MAX_SOURCES 16
#define CN_MQTT_FIELD 256

/* mqtt[s]://[user[:password]@]host[:port][/prefix] */
typedef struct cn_mqtt_url {
  bool tls;
  char user[CN_MQTT_FIELD], password[CN_MQTT_FIELD];
  bool has_user, has_password;
  char host[CN_MQTT_FIELD];
  int port;                   /* default 1883, mqtts 8883 */
  char prefix[CN_MQTT_FIELD]; /* default "camnet"; no leading/trailing / */
} cn_mqtt_url_t;

/* Fails with "option --mqtt: 'URL' ..." (the URL without its password). */
int cn_mqtt_parse_url(const char *url, cn_mqtt_url_t *out, cn_err_t *err);

typedef enum cn_mqtt_rate_kind {
  CN_MQTT_RATE_ALL,    /* every frame record with a result */
  CN_MQTT_RATE_CHANGE, /* when the result changes, and every heartbeat_s */
  CN_MQTT_RATE_MAX,    /* at most per_s records per second per source */
} cn_mqtt_rate_kind_t;

typedef struct cn_mqtt_rate {
  cn_mqtt_rate_kind_t kind;
  double per_s;       /* CN_MQTT_RATE_MAX */
  double heartbeat_s; /* CN_MQTT_RATE_CHANGE: default 10 */
} cn_mqtt_rate_t;

/* all | change[:S] | N (a number > 0, may be fractional). Fails with
 * "option --mqtt-rate: ...". */
int cn_mqtt_parse_rate(const char *s, cn_mqtt_rate_t *out, cn_err_t *err);

/* A command for one source; -1: leave as it is. */
typedef struct cn_mqtt_cmd {
  int detect;       /* 1 on, 0 off */
  double threshold; /* 0..1: results below it are left out */
} cn_mqtt_cmd_t;

/* Parses a set payload (pure): ON, OFF (any case; "detect on" too), a
 * number from 0 to 1, or a JSON object with "detect" (true, false, "on",
 * "off") and/or "threshold". Returns false when it is none of these. */
bool cn_mqtt_parse_cmd(const char *payload, int len, cn_mqtt_cmd_t *cmd);

typedef struct cn_mqtt_opts {
  const char *url;
  const char *password; /* overrides the URL's (CAMNET_MQTT_PASSWORD) */
  const char *cafile, *cert, *key;
  const char *instance; /* NULL: the host name */
  int qos;              /* 0 or 1 */
  const char *rate;     /* NULL: all */
  double state_every_s; /* <= 0: 30 */
  int queue;            /* ring entries (0: 256) */
  cn_source_t *const *sources;
  const char *const *names; /* per source, no credentials */
  int nsources;
  const cn_logger_t *log;
  /* A command arrived for source k (libmosquitto's thread; NULL: commands
   * are not subscribed to). */
  void (*on_set)(void *opaque, int k, const cn_mqtt_cmd_t *cmd);
  void *opaque;
} cn_mqtt_opts_t;

typedef struct cn_mqtt cn_mqtt_t;

typedef struct cn_mqtt_stats {
  uint64_t records;      /* results + states given to the queue */
  uint64_t results;      /* of which result records */
  uint64_t skipped;      /* result records --mqtt-rate left out */
  uint64_t published;    /* handed to libmosquitto */
  uint64_t acknowledged; /* PUBACK (QoS 1) or written (QoS 0) */
  uint64_t dropped;      /* pushed out of the full ring, or refused */
  uint64_t queued;       /* in the ring or awaiting acknowledgement */
  uint64_t connects;     /* successful connections (1 + reconnects) */
  bool connected;
} cn_mqtt_stats_t;

int cn_mqtt_open(const cn_mqtt_opts_t *o, cn_mqtt_t **out, cn_err_t *err);

/* Frame records carry a result (a model runs); without one only state and
 * status are published. Before the sink's first record. */
void cn_mqtt_set_results(cn_mqtt_t *m, bool on);

/* Adds the record sink to fo (a dropping one: it never holds fo up). */
int cn_mqtt_sink_add(cn_mqtt_t *m, cn_fanout_t *fo, cn_err_t *err);

void cn_mqtt_get_stats(cn_mqtt_t *m, cn_mqtt_stats_t *s);

/* The URL without credentials, for logs. */
const char *cn_mqtt_name(const cn_mqtt_t *m);

/* Publishes status "offline", disconnects, stops the threads, frees.
 * NULL is a no-op. */
void cn_mqtt_close(cn_mqtt_t *m);

#endif
