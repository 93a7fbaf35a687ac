/* ssd_base.h: the few things every stage of ssdc shares.
 *
 * Status codes (SQLite style: functions return an int, 0 is success, and the
 * message travels in an ssd_ctx), arenas for compiler data (QBE/ggml style:
 * the frontend, IR and passes allocate from one arena and free it at once),
 * and source locations with caret diagnostics (jq style).  Nothing here knows
 * about models or tensors; ir.h builds on it.
 */
#ifndef SSD_BASE_H
#define SSD_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SSDC_VERSION "0.1.0"

/* Status codes.  Keep them few: the message says what happened. */
enum {
  SSD_OK = 0,
  SSD_EPARSE,       /* model file syntax */
  SSD_ECHECK,       /* model file semantics, IR verification */
  SSD_EIO,          /* files: missing, unreadable, short */
  SSD_ENOMEM,       /* host or device allocation */
  SSD_EFORMAT,      /* checkpoints, configs, artifacts that are malformed */
  SSD_EINVAL,       /* bad arguments: flags, token ids, sizes */
  SSD_EDEVICE,      /* CUDA driver, NVRTC, cuBLAS */
  SSD_EUNSUPPORTED, /* valid input that this build cannot run */
  SSD_EINTERNAL
};
const char *ssd_status_name(int rc);

/* ---- arenas ---------------------------------------------------------- */
typedef struct ssd_arena ssd_arena;
ssd_arena *ssd_arena_new(void);
void ssd_arena_free(ssd_arena *a);
/* Zeroed memory.  Returns NULL only when the host is out of memory. */
void *ssd_arena_alloc(ssd_arena *a, size_t n);
char *ssd_arena_strdup(ssd_arena *a, const char *s);
char *ssd_arena_strndup(ssd_arena *a, const char *s, size_t n);
char *ssd_arena_printf(ssd_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t ssd_arena_used(const ssd_arena *a);

/* ---- sources and locations -------------------------------------------- */
/* A source file held in memory so that diagnostics can quote its lines. */
typedef struct ssd_src {
  const char *path;
  const char *text; /* NUL-terminated copy; embedded NULs are rejected by the lexer */
  size_t len;
} ssd_src;

typedef struct ssd_loc {
  const ssd_src *src; /* NULL: no location (synthesised by a pass) */
  int line, col;      /* 1-based */
} ssd_loc;

/* ---- context: errors and diagnostics ----------------------------------- */
typedef struct ssd_ctx {
  FILE *diag;      /* where diagnostics go; stderr unless a test redirects */
  int nerrors;     /* diagnostics with severity error so far */
  int nwarnings;
  int max_errors;  /* stop reporting after this many (default 20) */
  int quiet;       /* suppress warnings */
  char msg[2048];  /* the last error message, without location */
} ssd_ctx;

void ssd_ctx_init(ssd_ctx *c);
/* Record an error without a source location: "ssdc: error: MSG".
 * Returns code, so callers write `return ssd_err(c, SSD_EIO, "...")`. */
int ssd_err(ssd_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error at a source location: "FILE:LINE:COL: error: MSG", then the
 * source line and a caret under COL.  Returns code. */
int ssd_err_at(ssd_ctx *c, ssd_loc loc, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ssd_warn(ssd_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ssd_warn_at(ssd_ctx *c, ssd_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A note attached to the previous diagnostic ("FILE:LINE:COL: note: ..."). */
void ssd_note_at(ssd_ctx *c, ssd_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- files -------------------------------------------------------------- */
/* Read a whole regular file into the arena (NUL-terminated).  Rejects
 * directories, unreadable files and files over max_bytes with a message. */
int ssd_read_file(ssd_arena *a, const char *path, size_t max_bytes, ssd_src **out,
                  ssd_ctx *c);
/* Write data to PATH atomically: a temp file in the same directory, fsync,
 * rename.  A failure leaves no file at PATH (and no temp file). */
int ssd_write_file_atomic(const char *path, const void *data, size_t n, ssd_ctx *c);

/* ---- small helpers ------------------------------------------------------- */
/* Checked arithmetic for sizes from untrusted input: return 0 on overflow. */
int ssd_mul_ok(uint64_t a, uint64_t b, uint64_t *out);
int ssd_add_ok(uint64_t a, uint64_t b, uint64_t *out);
/* An integer setting from the environment: def when $name is unset or
 * empty, else its value, which must be a whole decimal integer in lo..hi
 * (SSD_EINVAL naming the variable otherwise, never a silent fallback). */
int ssd_env_int(const char *name, long long lo, long long hi, long long def, long long *out,
                ssd_ctx *c);
/* FNV-1a 64-bit, for cache keys and checksums of artifacts. */
uint64_t ssd_hash64(const void *data, size_t n, uint64_t seed);

#endif
