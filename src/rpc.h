/* rpc.h: JSON-RPC calls over a client's process: request ids, the pending table (S.pending,
 * router.h), request timeouts, overload retries with backoff, the write path, answers to
 * server requests (respond/reject), and failing what is pending when the process dies.
 *
 * rpc and router call each other, and only through these two headers: the router hands each
 * response to cx_rpc_response; rpc registers the stream a response names (cx_router_watch)
 * and, when the last stream-registering request ends, lets the router drop the streams kept
 * for it (cx_router_purge_done). Both work on the same S. */
#ifndef CODEX_RPC_H
#define CODEX_RPC_H
#include "client.h"

/* Writes n bytes to the process's stdin (copied). Returns 0 or a libuv error (UV_EPIPE once
 * stdin is closed); a write that fails later shows up as the process's death. */
int cx_rpc_write(cx_client *c, const char *s, size_t n);
/* Encodes the message at msg as one line into b. With raw (the index of a string, or 0),
 * msg has no "id": the id goes first as that text, exactly as the server sent it. Returns
 * 0, or -1 with the message in err. */
int cx_rpc_encode_answer(cx_client *c, lua_State *L, int msg, int raw, cx_strbuf *b, char *err, size_t errlen);
/* Encodes and writes the message at msg (raw as above); returns its Lua results: true, or
 * nil, message, code. */
int cx_rpc_send(cx_client *c, lua_State *L, int msg, int raw);
/* Pushes the message {id (unless 0), method = the value at 2, params = the value at 3 unless
 * nil}: a request or (id 0) a notification, from a method call's arguments. */
void cx_rpc_push_message(lua_State *L, long long id);
/* The body of client:request(method, params, cb, opts?) (arguments at 2..5, checked): a
 * new pending call; returns its Lua results: the id, or false (cb got the error). */
int cx_rpc_request(cx_client *c, lua_State *L);
/* The body of client:respond(id, result) / client:reject(id, code, message?, data?)
 * (arguments at 2.., checked): returns true, or nil, message, code. */
int cx_rpc_answer(cx_client *c, lua_State *L, int is_error);
/* A response (the message at msg; line: an excerpt for protocol errors), with S at s:
 * matches it to its pending call and queues the callback, or retries on overload. */
void cx_rpc_response(cx_client *c, lua_State *L, int s, int msg, const char *line, size_t len);
/* The process died with the error at e: every pending call's callback gets it, once. */
void cx_rpc_fail_pending(cx_client *c, lua_State *L, int s, int e);
#endif
