/* framer.h: newline-delimited framing of a byte stream that arrives in arbitrary chunks.
 *
 * Each byte is looked at once (memchr over the new bytes only), lines that lie wholly in one
 * chunk are handed out without copying, and only a line that spans chunks is buffered, so
 * the cost is linear in the bytes received. A line longer than max_line is dropped (reported
 * once through on_overflow) and framing resumes after its newline. "\r\n" endings and empty
 * lines are handled here, so consumers only ever see non-empty lines without terminators. */
#ifndef CODEX_FRAMER_H
#define CODEX_FRAMER_H
#include <stddef.h>
#include "strbuf.h"

typedef struct cx_framer cx_framer;
/* Return non-zero to stop feeding the rest of the chunk (e.g. the consumer was closed). */
typedef int (*cx_line_cb)(void *ud, const char *line, size_t len);
typedef void (*cx_overflow_cb)(void *ud, size_t dropped_bytes);

struct cx_framer {
  cx_strbuf partial;
  size_t max_line;
  size_t dropping; /* > 0 while skipping an over-long line: bytes dropped so far */
  cx_line_cb on_line;
  cx_overflow_cb on_overflow;
  void *ud;
};

void cx_framer_init(cx_framer *f, size_t max_line, cx_line_cb on_line, cx_overflow_cb on_overflow, void *ud);
void cx_framer_free(cx_framer *f);
/* Returns 0, 1 when the consumer asked to stop, -1 on memory exhaustion. */
int cx_framer_feed(cx_framer *f, const char *data, size_t len);
/* At end of stream: hands out a last unterminated line, if any. */
int cx_framer_finish(cx_framer *f);
#endif
