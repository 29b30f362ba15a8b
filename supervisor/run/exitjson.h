/* exitjson.h - the one JSON shape of an exit record (docs/json.md,
 * docs/exit-record.schema.json), for the library's own writers: report.c's
 * events file and sv_exit_json(). Jansson stays private to the library. */
#ifndef SV_EXITJSON_H
#define SV_EXITJSON_H

#include <stddef.h>

#include <jansson.h>

#include <supervise/sv.h>

/* Adds the exit record's keys to `o`, every one of them, null where there is
 * no value. Returns 0, or UV_ENOMEM (o then holds some of them). */
int sv__exit_json_put(json_t *o, const sv_exit_info *e);

/* Sets o[key] to n bytes of s as text (NULL s: null), and, if a byte was not
 * UTF-8 and had to be escaped, o[key + "_b64"] to the raw bytes in base64,
 * so that nothing is lost (see sv_text_escape). */
void sv__json_set_text(json_t *o, const char *key, const char *s, size_t n);

#endif
