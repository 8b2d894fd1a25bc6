/* Shape helpers the decoder kinds share: a leaf, depending only on the
 * model's tensor descriptions. */
#include <stdio.h>

#include "vision/decode_internal.h"

int cn__squeeze_dims(const cn_tensor_desc_t *t, int64_t *dims) {
  int i = 0;
  while (i < t->ndim - 1 && t->dims[i] == 1)
    i++;
  int n = 0;
  for (; i < t->ndim; i++)
    dims[n++] = t->dims[i];
  return n;
}

const char *cn__shape_str(const cn_tensor_desc_t *t, char *buf, int n) {
  int len = snprintf(buf, (size_t)n, "[");
  for (int i = 0; i < t->ndim && len < n; i++)
    len += snprintf(buf + len, (size_t)(n - len), "%s%lld", i ? "," : "",
                    (long long)t->dims[i]);
  if (len < n)
    snprintf(buf + len, (size_t)(n - len), "]");
  return buf;
}
