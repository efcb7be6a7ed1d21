/* framer.c: bytes → lines, linear and bounded (framer.h says how). */
#include "framer.h"
#include <string.h>

/* The buffer for lines spanning chunks is kept between lines up to this size; a bigger one
 * (left by one long line) is given back once it is empty, so it does not stay pinned. */
#define KEEP_PARTIAL (1u << 20)

static void trim(cx_framer *f) {
  if (f->partial.len == 0 && f->partial.cap > KEEP_PARTIAL) cx_strbuf_free(&f->partial);
}

void cx_framer_init(cx_framer *f, size_t max_line, cx_line_cb on_line, cx_overflow_cb on_overflow, void *ud) {
  cx_strbuf_init(&f->partial);
  f->max_line = max_line;
  f->dropping = 0;
  f->on_line = on_line;
  f->on_overflow = on_overflow;
  f->ud = ud;
}

void cx_framer_free(cx_framer *f) { cx_strbuf_free(&f->partial); }

static int emit(cx_framer *f, const char *line, size_t len) {
  if (len > 0 && line[len - 1] == '\r') len--;
  if (len == 0) return 0;
  if (len > f->max_line) {
    if (f->on_overflow) f->on_overflow(f->ud, len);
    return 0;
  }
  return f->on_line(f->ud, line, len);
}

int cx_framer_feed(cx_framer *f, const char *data, size_t len) {
  const char *p = data, *end = data + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (f->dropping) {
      /* Inside an over-long line: skip to its end, then report it once. */
      if (!nl) {
        f->dropping += (size_t)(end - p);
        return 0;
      }
      f->dropping += (size_t)(nl - p);
      if (f->on_overflow) f->on_overflow(f->ud, f->dropping);
      f->dropping = 0;
      p = nl + 1;
      continue;
    }
    if (!nl) {
      /* An unterminated tail: keep it, unless it has already outgrown the limit. */
      size_t have = f->partial.len + (size_t)(end - p);
      if (have > f->max_line + 1) { /* +1: a "\r" may still be stripped */
        f->dropping = have;
        f->partial.len = 0;
        trim(f);
        return 0;
      }
      return cx_strbuf_append(&f->partial, p, (size_t)(end - p)) ? -1 : 0;
    }
    int rc;
    if (f->partial.len) {
      size_t have = f->partial.len + (size_t)(nl - p);
      if (have > f->max_line + 1) {
        f->partial.len = 0;
        if (f->on_overflow) f->on_overflow(f->ud, have);
        rc = 0;
      } else {
        if (cx_strbuf_append(&f->partial, p, (size_t)(nl - p))) return -1;
        f->partial.len = 0; /* reset first: the callback may feed again (re-entrancy) */
        rc = emit(f, f->partial.data, have);
      }
      trim(f); /* after emit: the line lived in the buffer until it returned */
    } else {
      rc = emit(f, p, (size_t)(nl - p));
    }
    p = nl + 1;
    if (rc) return 1;
  }
  return 0;
}

int cx_framer_finish(cx_framer *f) {
  f->dropping = 0;
  if (!f->partial.len) return 0;
  size_t n = f->partial.len;
  f->partial.len = 0;
  int rc = emit(f, f->partial.data, n);
  trim(f);
  return rc;
}
