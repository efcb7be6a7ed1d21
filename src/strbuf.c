/* strbuf.c: the growable byte buffer of strbuf.h. */
#include "strbuf.h"
#include <stdlib.h>
#include <string.h>

void cx_strbuf_init(cx_strbuf *b) { b->data = NULL; b->len = b->cap = 0; }

void cx_strbuf_free(cx_strbuf *b) {
  free(b->data);
  cx_strbuf_init(b);
}

int cx_strbuf_reserve(cx_strbuf *b, size_t extra) {
  if (b->cap - b->len >= extra) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < extra) {
    if (cap > ((size_t)-1) / 2) return -1;
    cap *= 2;
  }
  char *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int cx_strbuf_append(cx_strbuf *b, const char *s, size_t n) {
  if (n == 0) return 0; /* data may still be NULL: memcpy(NULL, s, 0) is undefined */
  if (cx_strbuf_reserve(b, n)) return -1;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  return 0;
}

int cx_strbuf_putc(cx_strbuf *b, char c) { return cx_strbuf_append(b, &c, 1); }
