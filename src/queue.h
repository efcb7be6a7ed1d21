/* queue.h: the delivery queue. libuv callbacks never call user code; they queue fn(a, b)
 * here, and it runs later outside any libuv callback: from vim.schedule in Neovim, from
 * core.step under plain Lua. The queue also keeps the readers that backpressure paused, and
 * restarts them when it drains, so it never needs to know what a reader is. */
#ifndef CODEX_QUEUE_H
#define CODEX_QUEUE_H
#include "core.h"

/* Backpressure: a reader stops while this many callbacks wait to run; the pipe then fills
 * and the app-server waits, instead of our memory growing. Small batches also keep the
 * working set (decoded messages not yet delivered) in cache. */
#define CX_QUEUE_HIGH 256

/* Queue fn(a, b) to run outside any libuv callback (scheduled). Pops 3 values: fn, a, b. */
void cx_queue_push(cx_module *m, lua_State *L);
/* Callbacks queued and not yet run. */
static inline long cx_queue_len(const cx_module *m) { return (m->qtail - m->qhead) / 3; }
/* r stopped reading because the queue is full: r->resume(r->data) runs once the queue has
 * drained, or as soon as a callback waits in a nested loop run (vim.wait, core.step), which
 * would otherwise wait for an answer that sits behind the paused read. */
void cx_queue_pause(cx_module *m, cx_reader *r);
/* Resumes every paused reader now (after a drain; at shutdown). */
void cx_queue_resume(cx_module *m);
/* Module init and close: the queue table, the drain function, step's timer, nest_watch. */
void cx_queue_init(cx_module *m, lua_State *L);
void cx_queue_close(cx_module *m);
/* core.step, core.pending_callbacks, core.timer */
extern const luaL_Reg cx_queue_fns[];
#endif
