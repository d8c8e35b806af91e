/*
 * RFC 6962 leaf and node hashes for many inputs in one call: the optional native half of
 * src/merkle/native.ts. SHA-256 is OpenSSL's, the copy inside the Node binary that loads this
 * addon (the same code node:crypto runs), so results cannot differ from the JavaScript path; what
 * goes away is the cost of one call into node:crypto per hash. Built by src/native/build.ts
 * against the headers shipped with Node; Node-API only, so one build serves every Node >= 22.
 *
 *   leaves(buf, start, ends, from, to, out, outOffset)
 *     Lines from..to-1 of buf: line `from` is buf[start, ends[from]), each next one runs from one
 *     past the previous end to its own. Writes SHA-256(0x00 || line) of each, 32 bytes apiece, at
 *     out[outOffset ...]. buf, out: Uint8Array; ends: Float64Array.
 *   level(cur, next)
 *     One level up an RFC 6962 tree: next[i] = SHA-256(0x01 || cur[2i] || cur[2i+1]), an odd last
 *     node copied unchanged. cur holds n 32-byte hashes (n >= 1), next exactly ceil(n/2).
 *   gunzip(gz, out, onOut): see gunzip.c.
 *
 * Every offset is checked before anything is written: a bad argument throws RangeError.
 */
#define NAPI_VERSION 8
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <node_api.h>
#include <openssl/sha.h>
#include <string.h>
#include "addon.h"

#define HASH 32

napi_value addon_fail(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

int addon_bytes(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok || type != want) return 0;
  return 1;
}

/* x is a whole number in [0, max] (max below 2^53: a typed array's length). */
static int whole(double x, double max) {
  return x >= 0 && x <= max && (double)(unsigned long long)x == x;
}

/* A JS number that is a whole number in [0, max]. */
static int index_of(napi_env env, napi_value v, double max, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) return 0;
  return whole(*out, max);
}

static napi_value leaves(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 7) return addon_fail(env, "leaves: 7 arguments expected");
  unsigned char *buf, *out;
  double *ends;
  size_t bufLen, endsLen, outLen;
  if (!addon_bytes(env, argv[0], napi_uint8_array, (void **)&buf, &bufLen)) return addon_fail(env, "leaves: buf must be a Uint8Array");
  if (!addon_bytes(env, argv[2], napi_float64_array, (void **)&ends, &endsLen)) return addon_fail(env, "leaves: ends must be a Float64Array");
  if (!addon_bytes(env, argv[5], napi_uint8_array, (void **)&out, &outLen)) return addon_fail(env, "leaves: out must be a Uint8Array");
  double start, from, to, outOffset;
  if (!index_of(env, argv[1], (double)bufLen, &start)) return addon_fail(env, "leaves: start outside buf");
  if (!index_of(env, argv[4], (double)endsLen, &to)) return addon_fail(env, "leaves: to outside ends");
  if (!index_of(env, argv[3], to, &from)) return addon_fail(env, "leaves: from must be an index no larger than to");
  if (!index_of(env, argv[6], (double)outLen, &outOffset) || (to - from) * HASH > (double)outLen - outOffset) {
    return addon_fail(env, "leaves: out too small");
  }
  /* Check every line before hashing any. */
  double s = start;
  for (size_t i = (size_t)from; i < (size_t)to; i++) {
    double e = ends[i];
    if (!(whole(e, (double)bufLen) && e >= s)) return addon_fail(env, "leaves: line end outside buf or before its start");
    s = e + 1;
  }
  unsigned char *o = out + (size_t)outOffset;
  const unsigned char zero = 0x00;
  size_t at = (size_t)start;
  for (size_t i = (size_t)from; i < (size_t)to; i++) {
    size_t end = (size_t)ends[i];
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, &zero, 1);
    SHA256_Update(&c, buf + at, end - at);
    SHA256_Final(o, &c);
    o += HASH;
    at = end + 1;
  }
  return NULL;
}

static napi_value level(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return addon_fail(env, "level: 2 arguments expected");
  unsigned char *cur, *next;
  size_t curLen, nextLen;
  if (!addon_bytes(env, argv[0], napi_uint8_array, (void **)&cur, &curLen)) return addon_fail(env, "level: cur must be a Uint8Array");
  if (!addon_bytes(env, argv[1], napi_uint8_array, (void **)&next, &nextLen)) return addon_fail(env, "level: next must be a Uint8Array");
  size_t n = curLen / HASH;
  if (n == 0 || curLen % HASH != 0) return addon_fail(env, "level: cur must hold one or more 32-byte hashes");
  if (nextLen != (n + 1) / 2 * HASH) return addon_fail(env, "level: next must hold half as many hashes as cur, rounded up");
  unsigned char in[1 + 2 * HASH];
  in[0] = 0x01;
  for (size_t i = 0; i + 1 < n; i += 2) {
    memcpy(in + 1, cur + i * HASH, 2 * HASH);
    /* The low-level calls, not SHA256(): in OpenSSL 3 that one looks the digest up on every call. */
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, in, sizeof in);
    SHA256_Final(next + i / 2 * HASH, &c);
  }
  if (n % 2 == 1) memmove(next + (n - 1) / 2 * HASH, cur + (n - 1) * HASH, HASH);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f;
  if (napi_create_function(env, "leaves", NAPI_AUTO_LENGTH, leaves, NULL, &f) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "leaves", f) != napi_ok) return NULL;
  if (napi_create_function(env, "level", NAPI_AUTO_LENGTH, level, NULL, &f) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "level", f) != napi_ok) return NULL;
  if (!addon_register_gunzip(env, exports)) return NULL;
  return exports;
}
