/* rt_safetensors.h: reading and writing safetensors files, the checkpoint
 * format ssdc runs (HF layout) and the format `ssdc run` writes logits in.
 *
 * Format: an 8-byte little-endian header length H, H bytes of JSON (an
 * object: tensor name -> {"dtype", "shape", "data_offsets": [begin, end]},
 * plus an optional "__metadata__" string->string map), then the data region;
 * offsets are relative to the data region.
 *
 * The reader maps the file read-only and validates the whole header against
 * the file before any tensor byte is touched: bounded header length, dtypes,
 * shapes (every product overflow-checked), byte sizes, offsets inside the
 * data region, no overlaps and no gaps (as the reference implementation
 * requires).  Every failure names the file and the tensor.
 *
 * A "model" may also be a directory: model.safetensors, or the shards listed
 * by model.safetensors.index.json (weight_map); the shards' tables are merged
 * so that callers see one set of tensors.
 */
#ifndef SSD_RT_SAFETENSORS_H
#define SSD_RT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"

#define RT_ST_MAX_RANK 8
#define RT_ST_MAX_HEADER ((uint64_t)64 << 20) /* bytes of header JSON */

/* Every dtype the safetensors format names; only the first five can be read
 * as data (rt_st_dtype_ir), the rest are validated for size and skipped. */
typedef enum {
  RT_ST_F32, RT_ST_F16, RT_ST_BF16, RT_ST_I32, RT_ST_I64,
  RT_ST_F64, RT_ST_I8, RT_ST_U8, RT_ST_I16, RT_ST_U16, RT_ST_U32, RT_ST_U64, RT_ST_BOOL,
  RT_ST_F8_E4M3, RT_ST_F8_E5M2,
  RT_ST_NDTYPES
} rt_st_dtype;

const char *rt_st_dtype_name(rt_st_dtype t); /* "F32", ... as in the header */
size_t rt_st_dtype_size(rt_st_dtype t);
/* The IR dtype for a readable safetensors dtype; nonzero for the others. */
int rt_st_dtype_ir(rt_st_dtype t, ir_dtype *out);

typedef struct rt_st_tensor {
  const char *name;
  rt_st_dtype dtype;
  int rank;
  int64_t shape[RT_ST_MAX_RANK];
  uint64_t numel;
  uint64_t nbytes;
  const void *data;     /* inside the read-only mapping; may be unaligned */
  const char *file;     /* the file holding it (shards) */
} rt_st_tensor;

typedef struct rt_safetensors rt_safetensors;

/* Open one .safetensors file. */
int rt_st_open(const char *path, rt_safetensors **out, ssd_ctx *c);
/* Validate a file image held in memory (tests, fuzzing).  The buffer must
 * outlive the handle; it is not copied. */
int rt_st_open_mem(const void *buf, size_t n, const char *name, rt_safetensors **out,
                   ssd_ctx *c);
/* A checkpoint directory: DIR/model.safetensors.index.json if present (every
 * shard it names is opened and validated, and the weight_map must agree with
 * the shards), else DIR/model.safetensors.  A path to a file opens the file. */
int rt_st_open_model(const char *path, rt_safetensors **out, ssd_ctx *c);
void rt_st_close(rt_safetensors *st);

/* Tensors sorted by name. */
int rt_st_count(const rt_safetensors *st);
const rt_st_tensor *rt_st_at(const rt_safetensors *st, int i);
const rt_st_tensor *rt_st_find(const rt_safetensors *st, const char *name);
/* __metadata__[key], or NULL. */
const char *rt_st_metadata(const rt_safetensors *st, const char *key);

/* Copy a tensor into dst as float32 (F32 copied, F16/BF16 upcast exactly);
 * n must equal t->numel.  Other dtypes are SSD_EUNSUPPORTED. */
int rt_st_read_f32(const rt_st_tensor *t, float *dst, uint64_t n, ssd_ctx *c);
/* Copy an integer tensor (I32/I64) into dst as int64 (input ids). */
int rt_st_read_i64(const rt_st_tensor *t, int64_t *dst, uint64_t n, ssd_ctx *c);

/* ---- writing ---- */
typedef struct rt_st_out {
  const char *name;
  ir_dtype dtype;          /* stored as is: F32, BF16, F16, I32, I64 */
  int rank;
  const int64_t *shape;
  const void *data;        /* numel * ir_dtype_size(dtype) bytes, host order (LE) */
} rt_st_out;

/* Write tensors (and optional metadata pairs meta[2k] -> meta[2k+1]) to path
 * atomically: a temp file next to it, streamed, fsync'd and renamed; on any
 * failure nothing is left at path. */
int rt_st_write(const char *path, const rt_st_out *t, int n, const char *const *meta,
                int nmeta, ssd_ctx *c);

#endif
