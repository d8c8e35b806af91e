/* Shared by the sources of the native addon (see build.ts): argument helpers, and the
   registration of gunzip.c's function by leafhash.c's module initialiser. */
#ifndef WORMSEAL_ADDON_H
#define WORMSEAL_ADDON_H
#include <node_api.h>

/* Throws RangeError(msg); returns NULL for the caller to return. */
napi_value addon_fail(napi_env env, const char *msg);
/* v is a typed array of type `want`: its data and length (in elements). 0 if not. */
int addon_bytes(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length);
/* Adds gunzip() to exports; 0 on failure. */
int addon_register_gunzip(napi_env env, napi_value exports);
#endif
