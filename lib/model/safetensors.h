/* safetensors.h: a model's safetensors files, mapped read-only and
 * validated into a Tensors table (tensors.h).
 *
 * A safetensors file is a u64 little-endian header length N, N bytes of JSON
 * ({name: {"dtype", "shape", "data_offsets": [begin, end]}}, offsets counted
 * from the end of the header) and the raw little-endian data. Every header is
 * checked completely (length inside the file, JSON well formed, known dtype,
 * shape x element size = byte range, range inside the data, aligned, no
 * overlap, no overflow) before any pointer into the map is handed out; of
 * the format's dtypes only the weight types F32, F16 and BF16 are accepted.
 * A directory holds one file, or shards listed by
 * model.safetensors.index.json.
 *
 * Tensors whose name contains "mtp" (the multi-token-prediction head) are
 * checked but left out of the table: inference never uses them. Names that
 * start with "ernie." (older exports) are stored as "model.".
 */
#ifndef ERNIE_SAFETENSORS_H
#define ERNIE_SAFETENSORS_H

#include "model/tensors.h"

/* Open a model directory: model.safetensors.index.json and its shards, or
 * model.safetensors, or else every *.safetensors in it, into ts (zeroed
 * first). ERR_IO if nothing can be opened, ERR_DATA for any malformed file.
 * On failure ts is closed. */
int st_open_dir(Tensors *ts, const char *dir);

/* Add one file to the table (ts zeroed first for a fresh table). */
int st_add_file(Tensors *ts, const char *path);

#endif
