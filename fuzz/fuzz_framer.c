/* fuzz/fuzz_framer.c: libFuzzer harness for the line framer (src/framer.c) against a
 * reference splitter. Input: byte 0 picks max_line (1..40), byte 1 seeds the chunking, the
 * rest is the stream. The stream is fed three ways (in random chunks, including empty ones;
 * byte by byte; all at once), then finished; each way must give exactly the reference's
 * events: for every "\n"-terminated line, with one trailing "\r" removed, nothing when it is
 * empty, the line when it has at most max_line bytes, else one overflow report (of the raw
 * length, with or without the "\r"). The unterminated tail at finish is a line on the same
 * terms. One documented quirk is allowed (fuzz review C8): an unterminated tail longer than
 * max_line + 1 is dropped at finish without an overflow report. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "framer.h"

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "framer check failed: %s: ", #cond); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
      abort();                                             \
    }                                                      \
  } while (0)

typedef struct {
  int overflow;       /* 0: a line; 1: an overflow report */
  const char *s;      /* line bytes (into the input), or NULL */
  size_t len;         /* line length, or the raw length for an overflow */
  size_t len_no_cr;   /* overflow: the length without a trailing "\r" */
  int finish_quirk;   /* may be missing (C8) */
} event;

typedef struct {
  event *ev;
  size_t n, cap;
} events;

static void push(events *e, event x) {
  if (e->n == e->cap) {
    e->cap = e->cap ? e->cap * 2 : 16;
    e->ev = realloc(e->ev, e->cap * sizeof *e->ev);
    CHECK(e->ev != NULL, "realloc");
  }
  e->ev[e->n++] = x;
}

/* The got side copies line bytes (the framer's buffer is reused). */
typedef struct {
  events e;
  char *bytes;
  size_t nbytes, capbytes;
  size_t *offs;
} got;

static int on_line(void *ud, const char *line, size_t len) {
  got *g = ud;
  if (g->nbytes + len > g->capbytes) {
    g->capbytes = (g->nbytes + len) * 2 + 64;
    g->bytes = realloc(g->bytes, g->capbytes);
    CHECK(g->bytes != NULL, "realloc");
  }
  memcpy(g->bytes + g->nbytes, line, len);
  event x = {0, NULL, len, 0, 0};
  x.s = (const char *)(uintptr_t)g->nbytes; /* an offset until the end */
  g->nbytes += len;
  push(&g->e, x);
  return 0;
}

static void on_overflow(void *ud, size_t n) {
  got *g = ud;
  event x = {1, NULL, n, 0, 0};
  push(&g->e, x);
}

static void reference(const char *s, size_t n, size_t max_line, events *out) {
  size_t i = 0;
  while (i < n) {
    const char *nl = memchr(s + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - s) : n, raw = end - i, len = raw;
    if (len && s[i + len - 1] == '\r') len--;
    if (len > max_line) {
      event x = {1, NULL, raw, len, !nl && raw > max_line + 1};
      push(out, x);
    } else if (len) {
      event x = {0, s + i, len, 0, 0};
      push(out, x);
    }
    i = nl ? end + 1 : n;
  }
}

static void compare(const events *want, got *g, const char *how, size_t max_line) {
  size_t j = 0;
  for (size_t i = 0; i < want->n; i++) {
    const event *w = &want->ev[i];
    if (w->finish_quirk && (j >= g->e.n || !g->e.ev[j].overflow)) continue; /* C8 */
    CHECK(j < g->e.n, "%s: missing event %zu (max_line %zu)", how, i, max_line);
    const event *x = &g->e.ev[j++];
    CHECK(x->overflow == w->overflow, "%s: event %zu: %s instead of %s (max_line %zu)", how, i,
          x->overflow ? "overflow" : "line", w->overflow ? "overflow" : "line", max_line);
    if (w->overflow) {
      CHECK(x->len == w->len || x->len == w->len_no_cr, "%s: event %zu: overflow of %zu, want %zu", how, i, x->len, w->len);
    } else {
      CHECK(x->len == w->len && memcmp(g->bytes + (uintptr_t)x->s, w->s, w->len) == 0, "%s: event %zu: line differs", how, i);
    }
  }
  CHECK(j == g->e.n, "%s: %zu extra events (max_line %zu)", how, g->e.n - j, max_line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t max_line = 1 + data[0] % 40;
  uint32_t seed = data[1] * 2654435761u + 1;
  const char *s = (const char *)data + 2;
  size_t n = size - 2;
  events want = {0};
  reference(s, n, max_line, &want);
  for (int how = 0; how < 3; how++) {
    got g;
    memset(&g, 0, sizeof g);
    cx_framer f;
    cx_framer_init(&f, max_line, on_line, on_overflow, &g);
    size_t i = 0;
    while (i < n) {
      size_t k;
      if (how == 0) {
        seed = seed * 1103515245u + 12345u;
        k = (seed >> 16) % (2 * max_line + 4); /* 0 included: empty feeds */
      } else {
        k = how == 1 ? 1 : n;
      }
      if (k > n - i) k = n - i;
      CHECK(cx_framer_feed(&f, s + i, k) == 0, "feed");
      i += k;
    }
    CHECK(cx_framer_finish(&f) == 0, "finish");
    compare(&want, &g, how == 0 ? "random chunks" : how == 1 ? "byte by byte" : "one chunk", max_line);
    cx_framer_free(&f);
    free(g.e.ev);
    free(g.bytes);
  }
  free(want.ev);
  return 0;
}
