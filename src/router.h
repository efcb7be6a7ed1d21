/* router.h: the lines a client's process writes, from bytes to deliveries: framing, decoding,
 * telling responses, server requests and notifications apart, routing turn and login events
 * to their streams (buffering and replaying for streams nobody watches yet, DESIGN §4), and
 * keeping the server requests that await an answer.
 *
 * The state it keeps is S, the user value of the client userdata (cx_client holds only
 * counters mirroring it: buffered, buffered_bytes, completed_count, stream_requests):
 *   S.pending[id]     = a call in flight (rpc.c): {cb, method, line (the request as sent,
 *                       for retries), attempts, max_attempts, delay (of the next retry),
 *                       stream? (a sink to register for the turn/login its result names),
 *                       t? (its timeout timer), rt? (its retry timer; light userdata)}
 *   S.turns[id], S.logins[id] = a stream, keyed by the raw turn / login id:
 *                       {sinks = {fn…}?, buf = {msg…}? (events nobody watched yet), n, bytes
 *                       (what buf holds, counted in c->buffered, c->buffered_bytes),
 *                       done? (its terminal event is in buf), unclaimed? (a turn nobody
 *                       claimed, kept until the Lua side answers S.on_unclaimed), offered?}
 *   S.turns_done[id], S.logins_done[id] = true: streams that ended (late events are dropped;
 *                       forgotten wholesale past CX_COMPLETED_MAX)
 *   S.requests[id]    = a server→client request awaiting an answer:
 *                       {method, thread_id?, turn_id?, raw_id? (the id's text as received)}
 *   S.on_notification, S.on_request, S.on_close, S.on_exit, S.on_protocol_error: sinks
 *   S.on_unclaimed    = fn(turn id, first event): a turn no request named (router.c, offer)
 *   S.death           = the error every later call fails with (set once, proc.c) */
#ifndef CODEX_ROUTER_H
#define CODEX_ROUTER_H
#include "client.h"

/* Events kept for streams nobody watches yet (defaults of the spawn options buffer_events,
 * buffer_bytes): per stream, in all, and their total size as received, so that big events
 * stay bounded too. */
#define CX_BUF_PER_STREAM 4096
#define CX_BUF_TOTAL 65536
#define CX_BUF_BYTES (64.0 * 1024 * 1024)
#define CX_COMPLETED_MAX 4096

enum { CX_KIND_TURN, CX_KIND_LOGIN, CX_KIND_COUNT };

/* Sets up c's output framer and stream limits (before cx_proc_spawn). */
void cx_router_init(cx_client *c, size_t max_line, int buf_total, size_t buf_bytes);
/* Frames, decodes and routes one chunk of output (data NULL at its end: the last line even
 * without its newline). Called from the read callback; never raises. */
void cx_router_feed(cx_client *c, const char *data, size_t n);
/* Reports a protocol problem (fmt has one %s: the printable excerpt of detail) to
 * S.on_protocol_error, else to core.report. */
void cx_router_protocol_error(cx_client *c, lua_State *L, int s, const char *fmt, const char *detail, size_t dlen);
/* Adds the function at fn as a sink of the stream (kind, raw id at key), replaying what it
 * buffered. */
void cx_router_watch(cx_client *c, lua_State *L, int s, int kind, int key, int fn);
/* Removes the function at fn from the sinks of that stream. */
void cx_router_unwatch(lua_State *L, int s, int kind, int key, int fn);
/* Did that stream end (S.<kind>_done)? */
int cx_router_ended(lua_State *L, int s, int kind, int key);
/* No stream-registering request is in flight any more: drop the ended streams kept for one. */
void cx_router_purge_done(cx_client *c, lua_State *L, int s);
/* Takes S.requests[the id at idx]: pushes its raw id text (or nil) and returns 1; returns 0,
 * pushing nothing, when there is no such request. */
int cx_router_take_request(lua_State *L, int s, int idx);
/* The process died with the error at e: every stream's sinks get (nil, e), buffers and
 * server requests are dropped, S.on_request gets ("closed", e). */
void cx_router_fail(cx_client *c, lua_State *L, int s, int e);
/* The Lua side does not claim this unclaimed stream (see S.on_unclaimed): it is kept as any
 * unwatched stream is (dropped once ended). A stream with sinks is left alone. */
void cx_router_release(cx_client *c, lua_State *L, int s, int kind, int key);
/* Stream entries kept (watched or buffering). */
int cx_router_stream_count(lua_State *L, int s);
#endif
