/* cn_labels: class names, one per line, line i naming class i.
 *
 * Two formats, told apart by the file itself:
 * - plain: each line is the label ("tench");
 * - synset (Caffe's synset_words.txt): every non-empty line starts with a
 *   WordNet id, "n" and 8 digits, then a space ("n01440764 tench, Tinca
 *   tinca"); the label is all the text after the id ("tench, Tinca tinca").
 * Trailing spaces, CR of CRLF files and trailing empty lines are dropped;
 * an empty line inside the file is a class with an empty label, so the
 * numbering of the following lines is kept. A UTF-8 BOM is skipped.
 *
 * Ownership: the labels own their strings until cn_labels_destroy.
 * Threads: read-only after load; any thread.
 * Errors: CN_ENOENT / CN_EIO / CN_EPERM naming the file, CN_EFORMAT for a
 * file without labels or with a NUL byte ("labels.txt: no labels"),
 * CN_ENOMEM. A failed load leaves nothing to free.
 */
#ifndef CN_VISION_LABELS_H
#define CN_VISION_LABELS_H

#include "camnet/version.h"

#include "camnet/error.h"

typedef struct cn_labels cn_labels_t;

/* Reads the file at path. 0 and *out owns the labels, or a CN_E* above. */
CN_API int cn_labels_load(const char *path, cn_labels_t **out, cn_err_t *err);

/* Labels from n strings (copied; NULL is an empty label), for names a
 * decoder knows itself. CN_EINVAL when n < 1, CN_ENOMEM. */
CN_API int cn_labels_from_names(const char *const *names, int n,
                                cn_labels_t **out, cn_err_t *err);

/* Labels from a Python dict literal "{0: 'person', 1: 'bicycle'}" (how
 * exporters store class names in model metadata); what names the text in
 * messages. CN_EFORMAT when it is not such a dict with keys 0..n-1. */
CN_API int cn_labels_from_dict(const char *text, const char *what,
                               cn_labels_t **out, cn_err_t *err);

/* Frees the labels. NULL is a no-op. */
CN_API void cn_labels_destroy(cn_labels_t *l);

CN_API int cn_labels_count(const cn_labels_t *l); /* 0 for NULL */

/* Label of class i, or NULL when i is out of range (or l is NULL). */
CN_API const char *cn_labels_get(const cn_labels_t *l, int i);

/* 1 when the file was in the synset format. */
CN_API int cn_labels_synset(const cn_labels_t *l);

#endif
