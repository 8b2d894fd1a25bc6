/* Protobuf text format into protobuf-c messages, driven by the generated
 * descriptors. See prototxt.h for the accepted grammar and the errors.
 *
 * The message under construction is kept valid for
 * protobuf_c_message_free_unpacked() at every step (a repeated count is
 * raised only after its element is complete, a submessage is initialised
 * before it is linked), so any error simply frees the root.
 */
#include "engine/caffe/prototxt.h"

#include "core/file.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 100
#define MAX_FILE (64u << 20)

enum { T_EOF, T_IDENT, T_NUM, T_STR, T_SYM };

typedef struct tok {
  int kind;
  const char *p; /* raw text, len bytes (quotes included for T_STR) */
  size_t len;
  int line, col;
} tok_t;

typedef struct parser {
  const char *name;
  const char *cur, *end;
  int line;
  const char *line_start;
  tok_t tok;
  cn_err_t *err;
  int depth;
} parser_t;

static int fail(parser_t *p, const tok_t *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(parser_t *p, const tok_t *t, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return cn_err_set(p->err, CN_EFORMAT, "%s:%d:%d: %s", p->name, t->line,
                    t->col, what);
}

static int is_ident_start(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_ident_char(int c) { return is_ident_start(c) || is_digit(c); }

/* Describes the current token for "expected X, found Y" messages. */
static const char *tok_desc(const tok_t *t, char *buf, size_t n) {
  if (t->kind == T_EOF)
    return "end of file";
  if (t->kind == T_STR)
    return "a string";
  size_t len = t->len < 24 ? t->len : 24;
  snprintf(buf, n, "'%.*s'", (int)len, t->p);
  return buf;
}

static int expected(parser_t *p, const char *what) {
  char buf[40];
  return fail(p, &p->tok, "expected %s, found %s", what,
              tok_desc(&p->tok, buf, sizeof buf));
}

/* Advances to the next token. Comments run from '#' to the end of line. */
static int next(parser_t *p) {
  const char *s = p->cur;
  for (;;) {
    while (s < p->end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
                          *s == '\f' || *s == '\v')) {
      if (*s == '\n') {
        p->line++;
        p->line_start = s + 1;
      }
      s++;
    }
    if (s < p->end && *s == '#') {
      while (s < p->end && *s != '\n')
        s++;
      continue;
    }
    break;
  }
  tok_t *t = &p->tok;
  t->p = s;
  t->line = p->line;
  t->col = (int)(s - p->line_start) + 1;
  if (s >= p->end) {
    t->kind = T_EOF;
    t->len = 0;
    p->cur = s;
    return 0;
  }
  const char *b = s;
  unsigned char c = (unsigned char)*s;
  if (is_ident_start(c)) {
    while (s < p->end && is_ident_char((unsigned char)*s))
      s++;
    t->kind = T_IDENT;
  } else if (is_digit(c) ||
             (c == '.' && s + 1 < p->end && is_digit((unsigned char)s[1]))) {
    /* The whole literal, validated when converted to the field's type. */
    int hex = c == '0' && s + 1 < p->end && (s[1] == 'x' || s[1] == 'X');
    s++;
    while (s < p->end) {
      unsigned char d = (unsigned char)*s;
      if (is_ident_char(d) || d == '.' ||
          (!hex && (d == '+' || d == '-') && (s[-1] == 'e' || s[-1] == 'E')))
        s++;
      else
        break;
    }
    t->kind = T_NUM;
  } else if (c == '"' || c == '\'') {
    s++;
    while (s < p->end && *s != (char)c) {
      if (*s == '\n')
        return fail(p, t, "string not terminated before end of line");
      if (*s == '\\' && s + 1 < p->end && s[1] != '\n')
        s++;
      s++;
    }
    if (s >= p->end)
      return fail(p, t, "string not terminated before end of file");
    s++;
    t->kind = T_STR;
  } else if (strchr("{}<>[]:,;-", c) && c != 0) {
    s++;
    t->kind = T_SYM;
  } else {
    if (c >= 0x20 && c < 0x7f)
      return fail(p, t, "unexpected character '%c'", c);
    return fail(p, t, "unexpected byte 0x%02x", c);
  }
  t->len = (size_t)(s - b);
  p->cur = s;
  return 0;
}

static int is_sym(const parser_t *p, char c) {
  return p->tok.kind == T_SYM && p->tok.p[0] == c;
}

static int tok_is(const tok_t *t, const char *word) {
  return t->kind == T_IDENT && strlen(word) == t->len &&
         memcmp(t->p, word, t->len) == 0;
}

static int tok_is_nocase(const tok_t *t, const char *word) {
  if (t->kind != T_IDENT || strlen(word) != t->len)
    return 0;
  for (size_t i = 0; i < t->len; i++) {
    char a = t->p[i], b = word[i];
    if (a >= 'A' && a <= 'Z')
      a = (char)(a - 'A' + 'a');
    if (a != b)
      return 0;
  }
  return 1;
}

/* ---- scalar values ------------------------------------------------------ */

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads an integer literal: magnitude in *mag, sign in *neg. */
static int read_integer(parser_t *p, int *neg, uint64_t *mag) {
  *neg = 0;
  if (is_sym(p, '-')) {
    *neg = 1;
    int rc = next(p);
    if (rc)
      return rc;
  }
  const tok_t *t = &p->tok;
  if (t->kind != T_NUM)
    return expected(p, "an integer");
  const char *s = t->p, *e = t->p + t->len;
  unsigned base = 10;
  if (t->len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  } else if (t->len > 1 && s[0] == '0') {
    base = 8;
    s++;
  }
  uint64_t v = 0;
  for (; s < e; s++) {
    int d = hexval((unsigned char)*s);
    if (d < 0 || (unsigned)d >= base)
      return fail(p, t, "invalid integer '%.*s'", (int)t->len, t->p);
    if (v > (UINT64_MAX - (unsigned)d) / base)
      return fail(p, t, "integer '%.*s' out of range", (int)t->len, t->p);
    v = v * base + (unsigned)d;
  }
  *mag = v;
  return 0;
}

static int read_int_range(parser_t *p, int64_t lo, uint64_t hi, int64_t *sv,
                          uint64_t *uv) {
  tok_t start = p->tok;
  int neg;
  uint64_t mag;
  int rc = read_integer(p, &neg, &mag);
  if (rc)
    return rc;
  if (neg) {
    /* lo is 0 or negative; -lo as unsigned is the largest magnitude. */
    uint64_t lim = lo == 0 ? 0 : (uint64_t)(-(lo + 1)) + 1;
    if (mag > lim)
      return fail(p, &start, "value -%llu out of range",
                  (unsigned long long)mag);
    *sv = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
    *uv = 0;
  } else {
    if (mag > hi)
      return fail(p, &start, "value %llu out of range",
                  (unsigned long long)mag);
    *sv = (int64_t)(mag > (uint64_t)INT64_MAX ? 0 : mag);
    *uv = mag;
  }
  return next(p);
}

/* Checks the literal is a decimal float: digits [. digits] [e[+-]digits]
 * with an optional f suffix, or an integer. */
static int float_syntax(const char *s, size_t n, size_t *numlen) {
  size_t i = 0, digits = 0;
  while (i < n && is_digit((unsigned char)s[i]))
    i++, digits++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && is_digit((unsigned char)s[i]))
      i++, digits++;
  }
  if (!digits)
    return 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t ed = 0;
    while (i < n && is_digit((unsigned char)s[i]))
      i++, ed++;
    if (!ed)
      return 0;
  }
  *numlen = i;
  if (i < n && (s[i] == 'f' || s[i] == 'F'))
    i++;
  return i == n;
}

static int read_double(parser_t *p, double *out) {
  tok_t start = p->tok;
  int neg = 0, rc;
  if (is_sym(p, '-')) {
    neg = 1;
    if ((rc = next(p)))
      return rc;
  }
  const tok_t *t = &p->tok;
  double v;
  if (t->kind == T_IDENT) {
    if (tok_is_nocase(t, "inf") || tok_is_nocase(t, "infinity"))
      v = INFINITY;
    else if (tok_is_nocase(t, "nan"))
      v = NAN;
    else
      return expected(p, "a number");
  } else if (t->kind == T_NUM) {
    size_t numlen;
    if (t->len > 2 && t->p[0] == '0' && (t->p[1] == 'x' || t->p[1] == 'X')) {
      int ineg;
      uint64_t mag;
      if ((rc = read_integer(p, &ineg, &mag)))
        return rc;
      v = (double)mag;
    } else {
      if (!float_syntax(t->p, t->len, &numlen) || numlen >= 64)
        return fail(p, t, "invalid number '%.*s'", (int)t->len, t->p);
      /* strtod follows LC_NUMERIC; give it the locale's decimal point. */
      char buf[72];
      const char *dp = localeconv()->decimal_point;
      char point = dp && dp[0] ? dp[0] : '.';
      memcpy(buf, t->p, numlen);
      buf[numlen] = 0;
      char *dot = strchr(buf, '.');
      if (dot)
        *dot = point;
      char *endp;
      v = strtod(buf, &endp);
      if (*endp)
        return fail(p, t, "invalid number '%.*s'", (int)t->len, t->p);
    }
  } else {
    return expected(p, "a number");
  }
  (void)start;
  *out = neg ? -v : v;
  return next(p);
}

/* Decodes the escape at *sp (a backslash) of the string token t, ending
 * before e: *v is the byte, *sp moves past the escape. */
static int read_escape(parser_t *p, const tok_t *t, const char **sp,
                       const char *e, int *v) {
  const char *esc = (*sp)++, *s;
  char c = *(*sp)++;
  tok_t at = *t;
  at.col += (int)(esc - t->p);
  static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\''\"\"??";
  for (int i = 0; simple[i]; i += 2)
    if (c == simple[i]) {
      *v = simple[i + 1];
      return 0;
    }
  s = *sp;
  if (c == 'x' || c == 'X') {
    int d = s < e ? hexval((unsigned char)*s) : -1;
    if (d < 0)
      return fail(p, &at, "\\x escape without hex digits");
    *v = d;
    s++;
    if (s < e && (d = hexval((unsigned char)*s)) >= 0) {
      *v = *v * 16 + d;
      s++;
    }
    *sp = s;
    return 0;
  }
  if (c >= '0' && c <= '7') {
    *v = c - '0';
    for (int k = 0; k < 2 && s < e && *s >= '0' && *s <= '7'; k++)
      *v = *v * 8 + (*s++ - '0');
    *sp = s;
    if (*v > 255)
      return fail(p, &at, "octal escape out of range");
    return 0;
  }
  if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
    return fail(p, &at, "unknown escape '\\%c'", c);
  return fail(p, &at, "unknown escape");
}

/* Reads one or more adjacent string literals, unescaped into a new
 * buffer (NUL-terminated; *len excludes the terminator). */
static int read_string(parser_t *p, char **out, size_t *len) {
  if (p->tok.kind != T_STR)
    return expected(p, "a string");
  size_t cap = 0, n = 0;
  char *buf = NULL;
  while (p->tok.kind == T_STR) {
    const tok_t *t = &p->tok;
    size_t need = n + t->len + 1;
    if (need > cap) {
      char *nb = realloc(buf, need);
      if (!nb) {
        free(buf);
        return cn_err_set(p->err, CN_ENOMEM, "%s: out of memory", p->name);
      }
      buf = nb;
      cap = need;
    }
    const char *s = t->p + 1, *e = t->p + t->len - 1;
    while (s < e) {
      int v = 0, rc = 0;
      if (*s != '\\')
        v = (unsigned char)*s++;
      else
        rc = read_escape(p, t, &s, e, &v);
      if (rc) {
        free(buf);
        return rc;
      }
      buf[n++] = (char)v;
    }
    int rc = next(p);
    if (rc) {
      free(buf);
      return rc;
    }
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return 0;
}

/* ---- fields ------------------------------------------------------------- */

static size_t elem_size(ProtobufCType type) {
  switch (type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_ENUM:
    return 4;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    return 8;
  case PROTOBUF_C_TYPE_FLOAT:
    return sizeof(float);
  case PROTOBUF_C_TYPE_DOUBLE:
    return sizeof(double);
  case PROTOBUF_C_TYPE_BOOL:
    return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_STRING:
    return sizeof(char *);
  case PROTOBUF_C_TYPE_BYTES:
    return sizeof(ProtobufCBinaryData);
  case PROTOBUF_C_TYPE_MESSAGE:
    return sizeof(ProtobufCMessage *);
  }
  return 0;
}

/* The scalar of one field occurrence, converted before it is stored. */
typedef struct value {
  union {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f;
    double d;
    protobuf_c_boolean b;
    char *str;
    ProtobufCBinaryData bytes;
  } u;
} value_t;

static int read_bool(parser_t *p, value_t *v) {
  const tok_t *t = &p->tok;
  if (tok_is(t, "true") || tok_is(t, "True") || tok_is(t, "t") ||
      (t->kind == T_NUM && t->len == 1 && t->p[0] == '1'))
    v->u.b = 1;
  else if (tok_is(t, "false") || tok_is(t, "False") || tok_is(t, "f") ||
           (t->kind == T_NUM && t->len == 1 && t->p[0] == '0'))
    v->u.b = 0;
  else
    return expected(p, "true or false");
  return next(p);
}

/* An enum by name or by number; either must be one of its values. */
static int read_enum(parser_t *p, const ProtobufCFieldDescriptor *fd,
                     value_t *v) {
  tok_t start = p->tok;
  int64_t sv;
  uint64_t uv;
  int rc;
  const ProtobufCEnumDescriptor *ed = fd->descriptor;
  const ProtobufCEnumValue *ev;
  if (p->tok.kind == T_IDENT) {
    char name[128];
    if (p->tok.len >= sizeof name)
      return fail(p, &p->tok, "unknown value for %s", ed->name);
    memcpy(name, p->tok.p, p->tok.len);
    name[p->tok.len] = 0;
    ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
    if (!ev)
      return fail(p, &p->tok, "unknown value '%s' for %s", name, ed->name);
    v->u.i32 = ev->value;
    return next(p);
  }
  if ((rc = read_int_range(p, INT32_MIN, INT32_MAX, &sv, &uv)))
    return rc;
  if (!protobuf_c_enum_descriptor_get_value(ed, (int)sv))
    return fail(p, &start, "unknown value %lld for %s", (long long)sv,
                ed->name);
  v->u.i32 = (int32_t)sv;
  return 0;
}

/* string (no NUL bytes) or bytes. */
static int read_str_field(parser_t *p, const ProtobufCFieldDescriptor *fd,
                          value_t *v) {
  tok_t start = p->tok;
  int rc;
  char *s = NULL;
  size_t n = 0;
  if ((rc = read_string(p, &s, &n)))
    return rc;
  if (fd->type == PROTOBUF_C_TYPE_STRING) {
    if (memchr(s, 0, n)) {
      free(s);
      return fail(p, &start, "string contains a NUL byte");
    }
    v->u.str = s;
  } else {
    v->u.bytes.data = (uint8_t *)s;
    v->u.bytes.len = n;
  }
  return 0;
}

static int read_scalar(parser_t *p, const ProtobufCFieldDescriptor *fd,
                       value_t *v) {
  int64_t sv;
  uint64_t uv;
  double d;
  int rc;
  tok_t start = p->tok;
  switch (fd->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
    if ((rc = read_int_range(p, INT32_MIN, INT32_MAX, &sv, &uv)))
      return rc;
    v->u.i32 = (int32_t)sv;
    return 0;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    if ((rc = read_int_range(p, 0, UINT32_MAX, &sv, &uv)))
      return rc;
    v->u.u32 = (uint32_t)uv;
    return 0;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    if ((rc = read_int_range(p, INT64_MIN, INT64_MAX, &sv, &uv)))
      return rc;
    v->u.i64 = sv;
    return 0;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    if ((rc = read_int_range(p, 0, UINT64_MAX, &sv, &uv)))
      return rc;
    v->u.u64 = uv;
    return 0;
  case PROTOBUF_C_TYPE_FLOAT:
    if ((rc = read_double(p, &d)))
      return rc;
    if (isfinite(d) && fabs(d) > FLT_MAX)
      return fail(p, &start, "value out of range for a float");
    v->u.f = (float)d;
    return 0;
  case PROTOBUF_C_TYPE_DOUBLE:
    if ((rc = read_double(p, &d)))
      return rc;
    v->u.d = d;
    return 0;
  case PROTOBUF_C_TYPE_BOOL:
    return read_bool(p, v);
  case PROTOBUF_C_TYPE_ENUM:
    return read_enum(p, fd, v);
  case PROTOBUF_C_TYPE_STRING:
  case PROTOBUF_C_TYPE_BYTES:
    return read_str_field(p, fd, v);
  case PROTOBUF_C_TYPE_MESSAGE:
    break;
  }
  return fail(p, &start, "internal: unexpected field type");
}

/* Room for one more element of a repeated field. Capacity is implied by the
 * count (the next power of two), so no side table is needed. */
static void *grow(void **arr, size_t n, size_t esz) {
  if (n == 0) {
    *arr = calloc(1, esz);
    return *arr;
  }
  if ((n & (n - 1)) == 0) {
    if (n > SIZE_MAX / 2 / esz)
      return NULL;
    void *na = realloc(*arr, 2 * n * esz);
    if (!na)
      return NULL;
    *arr = na;
  }
  return (char *)*arr + n * esz;
}

static int parse_body(parser_t *p, ProtobufCMessage *msg,
                      const ProtobufCMessageDescriptor *desc, char close);

static int oom(parser_t *p) {
  return cn_err_set(p->err, CN_ENOMEM, "%s: out of memory", p->name);
}

static int open_message(parser_t *p, char *close) {
  if (is_sym(p, '{'))
    *close = '}';
  else if (is_sym(p, '<'))
    *close = '>';
  else
    return expected(p, "'{'");
  if (++p->depth > MAX_DEPTH)
    return fail(p, &p->tok, "messages nested deeper than %d", MAX_DEPTH);
  return next(p);
}

static int close_message(parser_t *p, char close) {
  if (!is_sym(p, close)) {
    char what[8] = {'\'', close, '\'', 0};
    return expected(p, what);
  }
  p->depth--;
  return next(p);
}

/* One message value: '{' fields '}'. Stored as a new element (repeated) or
 * as the field's message (optional/required). */
static int read_message_value(parser_t *p, ProtobufCMessage *msg,
                              const ProtobufCFieldDescriptor *fd) {
  const ProtobufCMessageDescriptor *sd = fd->descriptor;
  char close;
  int rc = open_message(p, &close);
  if (rc)
    return rc;
  ProtobufCMessage *sub = malloc(sd->sizeof_message);
  if (!sub)
    return oom(p);
  sd->message_init(sub);
  char *base = (char *)msg;
  if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t *n = (size_t *)(base + fd->quantifier_offset);
    ProtobufCMessage **slot =
        grow((void **)(base + fd->offset), *n, sizeof(ProtobufCMessage *));
    if (!slot) {
      free(sub);
      return oom(p);
    }
    *slot = sub;
    (*n)++;
  } else {
    *(ProtobufCMessage **)(base + fd->offset) = sub;
  }
  if ((rc = parse_body(p, sub, sd, close)))
    return rc;
  return close_message(p, close);
}

static void store_scalar(ProtobufCMessage *msg,
                         const ProtobufCFieldDescriptor *fd, value_t *v,
                         void *dst) {
  (void)msg;
  switch (fd->type) {
  case PROTOBUF_C_TYPE_STRING:
    *(char **)dst = v->u.str;
    break;
  case PROTOBUF_C_TYPE_BYTES:
    *(ProtobufCBinaryData *)dst = v->u.bytes;
    break;
  default:
    memcpy(dst, &v->u, elem_size(fd->type));
    break;
  }
}

static void drop_value(const ProtobufCFieldDescriptor *fd, value_t *v) {
  if (fd->type == PROTOBUF_C_TYPE_STRING)
    free(v->u.str);
  else if (fd->type == PROTOBUF_C_TYPE_BYTES)
    free(v->u.bytes.data);
}

static int read_scalar_into(parser_t *p, ProtobufCMessage *msg,
                            const ProtobufCFieldDescriptor *fd) {
  value_t v;
  memset(&v, 0, sizeof v);
  int rc = read_scalar(p, fd, &v);
  if (rc)
    return rc;
  char *base = (char *)msg;
  if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t *n = (size_t *)(base + fd->quantifier_offset);
    void *slot = grow((void **)(base + fd->offset), *n, elem_size(fd->type));
    if (!slot) {
      drop_value(fd, &v);
      return oom(p);
    }
    store_scalar(msg, fd, &v, slot);
    (*n)++;
    return 0;
  }
  void *dst = base + fd->offset;
  if (fd->type == PROTOBUF_C_TYPE_STRING) {
    char *old = *(char **)dst;
    if (old && old != (const char *)fd->default_value)
      free(old);
  } else if (fd->type == PROTOBUF_C_TYPE_BYTES) {
    ProtobufCBinaryData *old = dst;
    const ProtobufCBinaryData *def = fd->default_value;
    if (old->data && (!def || old->data != def->data))
      free(old->data);
  }
  store_scalar(msg, fd, &v, dst);
  if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    *(uint32_t *)(base + fd->quantifier_offset) = fd->id;
  else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
           fd->type != PROTOBUF_C_TYPE_STRING &&
           fd->type != PROTOBUF_C_TYPE_MESSAGE)
    *(protobuf_c_boolean *)(base + fd->quantifier_offset) = 1;
  return 0;
}

/* Skips one value of a field the schema leaves opaque. */
static int skip_value(parser_t *p) {
  int rc;
  if (is_sym(p, '{') || is_sym(p, '<')) {
    char close;
    if ((rc = open_message(p, &close)) ||
        (rc = parse_body(p, NULL, NULL, close)))
      return rc;
    return close_message(p, close);
  }
  if (p->tok.kind == T_STR) {
    while (p->tok.kind == T_STR)
      if ((rc = next(p)))
        return rc;
    return 0;
  }
  if (is_sym(p, '-') && (rc = next(p)))
    return rc;
  if (p->tok.kind != T_NUM && p->tok.kind != T_IDENT)
    return expected(p, "a value");
  return next(p);
}

static int read_field_value(parser_t *p, ProtobufCMessage *msg,
                            const ProtobufCFieldDescriptor *fd) {
  if (!fd)
    return skip_value(p);
  if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
    return read_message_value(p, msg, fd);
  return read_scalar_into(p, msg, fd);
}

static int is_opaque(const ProtobufCMessageDescriptor *desc) {
  return desc == NULL || desc->n_fields == 0;
}

/* Where a message body ends (EOF, or its closing symbol); also refuses
 * what cannot start a field. Returns 1 to stop, with *rc the error if any. */
static int body_end(parser_t *p, char close, int *rc) {
  char what[8] = {'\'', close, '\'', 0};
  *rc = 0;
  if (p->tok.kind == T_EOF) {
    if (close)
      *rc = expected(p, what);
    return 1;
  }
  if (close && is_sym(p, close))
    return 1;
  if (close && (is_sym(p, '}') || is_sym(p, '>'))) {
    *rc = expected(p, what);
    return 1;
  }
  if (p->tok.kind != T_IDENT) {
    if (is_sym(p, '['))
      *rc = fail(p, &p->tok, "extension fields are not supported");
    else
      *rc = expected(p, "a field name");
    return 1;
  }
  return 0;
}

/* The descriptor of the field named by the current token: it must exist,
 * be given once unless repeated, and not collide with its oneof. */
static int field_lookup(parser_t *p, const ProtobufCMessage *msg,
                        const ProtobufCMessageDescriptor *desc,
                        unsigned char *seen,
                        const ProtobufCFieldDescriptor **out) {
  const tok_t name_tok = p->tok;
  const ProtobufCFieldDescriptor *fd = NULL;
  char name[128];
  if (name_tok.len < sizeof name) {
    memcpy(name, name_tok.p, name_tok.len);
    name[name_tok.len] = 0;
    fd = protobuf_c_message_descriptor_get_field_by_name(desc, name);
  }
  if (!fd)
    return fail(p, &name_tok, "unknown field '%.*s' in %s",
                (int)(name_tok.len < 64 ? name_tok.len : 64), name_tok.p,
                desc->name);
  size_t idx = (size_t)(fd - desc->fields);
  if (fd->label != PROTOBUF_C_LABEL_REPEATED && seen[idx])
    return fail(p, &name_tok, "field '%s' given more than once", fd->name);
  if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
      *(const uint32_t *)((const char *)msg + fd->quantifier_offset) != 0)
    return fail(p, &name_tok, "field '%s': another field of its oneof is set",
                fd->name);
  seen[idx] = 1;
  *out = fd;
  return 0;
}

/* List syntax: name: [v1, v2, ...], only for repeated fields. */
static int read_list(parser_t *p, ProtobufCMessage *msg,
                     const ProtobufCFieldDescriptor *fd) {
  int rc;
  if (fd && fd->label != PROTOBUF_C_LABEL_REPEATED)
    return fail(p, &p->tok, "field '%s' is not repeated", fd->name);
  if ((rc = next(p)))
    return rc;
  if (!is_sym(p, ']')) {
    for (;;) {
      if ((rc = read_field_value(p, msg, fd)))
        return rc;
      if (is_sym(p, ']'))
        break;
      if (!is_sym(p, ','))
        return expected(p, "',' or ']'");
      if ((rc = next(p)))
        return rc;
    }
  }
  return next(p);
}

/* One field: name, optional ':', then a value, a message or a list. */
static int parse_field(parser_t *p, ProtobufCMessage *msg,
                       const ProtobufCMessageDescriptor *desc,
                       unsigned char *seen) {
  const ProtobufCFieldDescriptor *fd = NULL;
  int rc;
  if (!is_opaque(desc) && (rc = field_lookup(p, msg, desc, seen, &fd)))
    return rc;
  if ((rc = next(p)))
    return rc;
  int colon = is_sym(p, ':');
  if (colon && (rc = next(p)))
    return rc;
  int is_msg = fd ? fd->type == PROTOBUF_C_TYPE_MESSAGE
                  : (is_sym(p, '{') || is_sym(p, '<') || is_sym(p, '['));
  if (fd && !is_msg && !colon)
    return fail(p, &p->tok, "expected ':' after '%s'", fd->name);
  if (!fd && !colon && !is_msg)
    return expected(p, "':'");
  if (is_sym(p, '['))
    rc = read_list(p, msg, fd);
  else
    rc = read_field_value(p, msg, fd);
  if (rc)
    return rc;
  if (is_sym(p, ',') || is_sym(p, ';'))
    return next(p);
  return 0;
}

/* Fields up to (not including) the closing symbol, or to end of file when
 * close is 0. msg/desc NULL: skip (opaque message). */
static int parse_body(parser_t *p, ProtobufCMessage *msg,
                      const ProtobufCMessageDescriptor *desc, char close) {
  unsigned char *seen = NULL;
  int rc = 0;
  if (!is_opaque(desc)) {
    seen = calloc(desc->n_fields, 1);
    if (!seen)
      return oom(p);
  }
  while (!body_end(p, close, &rc) && !(rc = parse_field(p, msg, desc, seen)))
    ;
  free(seen);
  return rc;
}

int cn_prototxt_parse(const char *text, size_t len, const char *name,
                      const ProtobufCMessageDescriptor *desc,
                      ProtobufCMessage **out, cn_err_t *err) {
  *out = NULL;
  parser_t p = {
      .name = name ? name : "<prototxt>",
      .cur = text,
      .end = text + len,
      .line = 1,
      .line_start = text,
      .err = err,
  };
  ProtobufCMessage *msg = malloc(desc->sizeof_message);
  if (!msg)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", p.name);
  desc->message_init(msg);
  int rc = next(&p);
  if (!rc)
    rc = parse_body(&p, msg, desc, 0);
  if (rc) {
    protobuf_c_message_free_unpacked(msg, NULL);
    /* The name comes from the caller: keep the message on one line. */
    for (char *c = err ? err->msg : NULL; c && *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = '?';
    return rc;
  }
  *out = msg;
  return 0;
}

int cn_prototxt_load(const char *path, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out, cn_err_t *err) {
  *out = NULL;
  char *buf;
  size_t n;
  int rc = cn_file_read(path, "prototxt", MAX_FILE, &buf, &n, err);
  if (rc)
    return rc;
  rc = cn_prototxt_parse(buf, n, path, desc, out, err);
  free(buf);
  return rc;
}
