/* strbuf.h: a growable byte buffer (amortised O(1) append). */
#ifndef CODEX_STRBUF_H
#define CODEX_STRBUF_H
#include <stddef.h>

typedef struct {
  char *data;
  size_t len, cap;
} cx_strbuf;

void cx_strbuf_init(cx_strbuf *b);
void cx_strbuf_free(cx_strbuf *b);
/* Returns 0, or -1 when memory is exhausted (the buffer is left unchanged). */
int cx_strbuf_reserve(cx_strbuf *b, size_t extra);
int cx_strbuf_append(cx_strbuf *b, const char *s, size_t n);
int cx_strbuf_putc(cx_strbuf *b, char c);
#endif
