/* rt_json.h: a strict JSON (RFC 8259) reader for config.json files and
 * safetensors headers, both of which come from the outside world.
 *
 * The whole document is parsed into a tree allocated from a caller's arena.
 * Policy, chosen for untrusted input:
 * - nesting deeper than RT_JSON_MAX_DEPTH, strings with invalid UTF-8, lone
 *   surrogates, control characters, leading zeros, trailing garbage, and
 *   numbers that overflow a double are errors;
 * - duplicate keys in one object are errors (last-wins would let a
 *   safetensors header name a tensor twice and silently drop one);
 * - non-finite numbers are errors, except that rt_json_parse_flags can accept
 *   Python's bare Infinity/-Infinity/NaN (config.json only);
 * - number literals longer than 1024 characters and containers of more than
 *   2^28 elements are errors (callers bound the document length itself);
 * - integral literals (no fraction, no exponent) that fit int64 become
 *   RT_JSON_INT exactly; every other number is RT_JSON_FLOAT (a double);
 * - strings may contain U+0000 (kept, with slen); lookups by C string then
 *   cannot match them, which is fine for keys nobody uses.
 * Errors are SSD_EFORMAT with "WHAT:LINE:COL: ..." (and the byte offset).
 */
#ifndef SSD_RT_JSON_H
#define SSD_RT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "ssd_base.h"

#define RT_JSON_MAX_DEPTH 128

typedef enum {
  RT_JSON_NULL,
  RT_JSON_BOOL,
  RT_JSON_INT,
  RT_JSON_FLOAT,
  RT_JSON_STRING,
  RT_JSON_ARRAY,
  RT_JSON_OBJECT
} rt_json_kind;

typedef struct rt_json rt_json;
struct rt_json {
  rt_json_kind kind;
  bool b;             /* BOOL */
  int64_t i;          /* INT */
  double f;           /* FLOAT; also INT's value as a double */
  const char *s;      /* STRING: NUL-terminated UTF-8 */
  size_t slen;        /* STRING: bytes, without the terminator */
  int n;              /* ARRAY, OBJECT: element count */
  rt_json **items;    /* ARRAY elements; OBJECT values, in document order */
  const char **keys;  /* OBJECT keys, parallel to items */
  size_t *keylens;    /* OBJECT key lengths (keys may hold U+0000) */
  int *sorted;        /* OBJECT: item indices sorted by key, for lookup */
  size_t offset;      /* byte offset of the value in the document */
};

/* Parse text[0..len) (need not be NUL-terminated).  `what` names the
 * document in messages ("config.json", "model.safetensors header"). */
int rt_json_parse(ssd_arena *a, const char *what, const char *text, size_t len,
                  rt_json **out, ssd_ctx *c);

/* The same with options: RT_JSON_NONFINITE also accepts Python's bare
 * Infinity, -Infinity and NaN literals as FLOATs (HF config.json files hold
 * them; RFC 8259 does not allow them, so safetensors headers stay strict). */
enum { RT_JSON_NONFINITE = 1u << 0 };
int rt_json_parse_flags(ssd_arena *a, const char *what, const char *text, size_t len,
                        unsigned flags, rt_json **out, ssd_ctx *c);

const char *rt_json_kind_name(rt_json_kind k);
/* 1-based line and column of a byte offset, for messages. */
void rt_json_linecol(const char *text, size_t len, size_t offset, int *line, int *col);

/* Member of an object by key; NULL when absent or when obj is not an object. */
const rt_json *rt_json_get(const rt_json *obj, const char *key);

/* Follow a path like "ssm_cfg.d_state" or "time_step_limit[1]" or
 * "attn_cfg.layers[0].x": dotted object keys with [index] steps.  Sets *out
 * to the value, or to NULL when some step is absent (missing key, index out
 * of range, or a step into a value of the wrong kind).  Returns SSD_EINVAL
 * (with a message) only for a malformed path. */
int rt_json_lookup(const rt_json *root, const char *path, const rt_json **out, ssd_ctx *c);

/* Read a number: INT, FLOAT, or the {"__float__": "Infinity" | "-Infinity" |
 * "NaN"} object HF's config writer uses for non-finite floats.  Returns 0
 * and sets *out, or nonzero when v is none of those. */
int rt_json_number(const rt_json *v, double *out);

/* Write s as a JSON string literal (quotes, escapes) to f: for the
 * documents ssdc writes (kernel pack manifests). */
void rt_json_write_string(FILE *f, const char *s);

#endif
