/*
 * gunzip(gz, out, onOut): a data object decompressed a chunk at a time into one caller's buffer,
 * synchronously, with the zlib inside the Node binary that loads the addon (node:zlib's). What
 * node:zlib's stream costs beyond inflating (an async round trip to the thread pool and a fresh
 * buffer for every chunk, that buffer's first-touch page faults and its garbage collection) goes
 * away; the bytes are the same.
 *
 *   gz: Uint8Array, the object; out: Uint8Array, reused for every chunk; onOut(n): called each
 *   time out[0, n) holds the next n decompressed bytes, which it must be done with before it
 *   returns. Returns 0 when the object decompressed as node:zlib's gunzip would decompress it:
 *   gzip members one after another, and after the end of a member either nothing, or bytes that
 *   start with 0x00 (ignored, as node:zlib ignores zero padding). Any other outcome returns a
 *   nonzero zlib code, and the caller asks node:zlib for its error. An exception thrown by onOut
 *   stops decompressing and is thrown on.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <string.h>
#include <zlib.h>
#include "addon.h"

static napi_value number(napi_env env, int v) {
  napi_value r;
  return napi_create_int32(env, v, &r) == napi_ok ? r : NULL;
}

static napi_value gunzip(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], recv;
  if (napi_get_cb_info(env, info, &argc, argv, &recv, NULL) != napi_ok || argc != 3) return addon_fail(env, "gunzip: 3 arguments expected");
  unsigned char *gz, *out;
  size_t gzLen, outLen;
  if (!addon_bytes(env, argv[0], napi_uint8_array, (void **)&gz, &gzLen)) return addon_fail(env, "gunzip: gz must be a Uint8Array");
  if (!addon_bytes(env, argv[1], napi_uint8_array, (void **)&out, &outLen) || outLen == 0 || outLen > 0x7fffffff) {
    return addon_fail(env, "gunzip: out must be a non-empty Uint8Array under 2 GiB");
  }
  napi_valuetype t;
  if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function) return addon_fail(env, "gunzip: onOut must be a function");
  if (gzLen > 0xffffffffu) return number(env, Z_BUF_ERROR); /* one avail_in; node:zlib decides */

  z_stream s;
  memset(&s, 0, sizeof s);
  if (inflateInit2(&s, 15 + 16) != Z_OK) return number(env, Z_MEM_ERROR); /* gzip wrapper only */
  s.next_in = gz;
  s.avail_in = (uInt)gzLen;
  int status;
  for (;;) {
    s.next_out = out;
    s.avail_out = (uInt)outLen;
    int err = inflate(&s, Z_NO_FLUSH);
    size_t have = outLen - s.avail_out;
    if (have > 0) {
      napi_value arg, ignored;
      if (napi_create_double(env, (double)have, &arg) != napi_ok || napi_call_function(env, recv, argv[2], 1, &arg, &ignored) != napi_ok) {
        inflateEnd(&s);
        return NULL; /* onOut threw: its exception is pending */
      }
    }
    if (err == Z_STREAM_END) {
      /* node:zlib (src/node_zlib.cc): more bytes not starting with 0x00 are another member. */
      if (s.avail_in > 0 && s.next_in[0] != 0x00) {
        if (inflateReset(&s) != Z_OK) {
          status = Z_STREAM_ERROR;
          break;
        }
        continue;
      }
      status = 0;
      break;
    }
    if (err == Z_OK && (have > 0 || s.avail_in > 0)) continue;
    /* No progress possible: input ended inside a member (node:zlib: "unexpected end of file"),
       or an error. */
    status = err == Z_OK ? Z_BUF_ERROR : err;
    break;
  }
  inflateEnd(&s);
  return number(env, status);
}

int addon_register_gunzip(napi_env env, napi_value exports) {
  napi_value f;
  if (napi_create_function(env, "gunzip", NAPI_AUTO_LENGTH, gunzip, NULL, &f) != napi_ok) return 0;
  return napi_set_named_property(env, exports, "gunzip", f) == napi_ok;
}
