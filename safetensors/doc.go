// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors).
//
// A file is laid out as
//
//	[8 bytes]  N, the header length, unsigned little-endian
//	[N bytes]  a UTF-8 JSON object: for every tensor
//	           "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//	           and optionally "__metadata__": {"key": "value", ...} (strings only)
//	[rest]     the data section: raw little-endian, row-major tensor bytes;
//	           data_offsets are byte offsets relative to its start
//
// Open maps the file into memory (mmap_unix.go; other systems read it whole,
// mmap_other.go) and validates the header; tensor bytes are never copied until
// a caller asks for a conversion (Tensor.Float32, Tensor.Int64), so a 4 GB
// checkpoint costs only the pages that are touched.
//
// Validation follows what the reference Rust implementation
// (safetensors/src/tensor.rs) rejects, plus a few stricter checks; every
// validation error is a *FormatError naming the file and, where there is one,
// the tensor (I/O errors from the system are wrapped with the path instead):
//
//   - fewer than 8 bytes, a header length past the end of the file, a header
//     over MaxHeaderSize (100,000,000 bytes, as the reference);
//   - a header that is not UTF-8, not JSON, not one JSON object, or has any
//     bytes after the object other than whitespace (writers pad with spaces);
//   - a key named twice (anywhere in the header; the reference silently keeps
//     one of them, we reject), a top-level entry that is not an object;
//   - "__metadata__" that is neither null nor an object of strings;
//   - a tensor entry without "dtype", "shape" or "data_offsets", with a dtype
//     this package does not know (dtype names are case-sensitive; the
//     sub-byte, complex and "fnuz" fp8 types of newer reference versions are
//     reported as unsupported), a shape or offset that is not a non-negative
//     integer (null, 2.0 and 2e0 are rejected), data_offsets that are not
//     exactly [begin, end] with begin ≤ end, a shape whose element count ×
//     dtype size overflows or differs from end − begin; other fields of an
//     entry are ignored, as the reference ignores them;
//   - spans that do not tile the data section exactly: sorted by offset, each
//     must begin where the previous ended (no overlap, no gap), and the last
//     must end at the end of the file (no trailing bytes).
//
// Alignment is NOT required when reading, because the reference does not
// require it either: it pads the header of files it writes with spaces to a
// multiple of 8 bytes and orders tensors by decreasing element size so every
// tensor starts aligned, but older writers did not, and the reference reads
// their files. Conversions here never assume alignment, so an unaligned
// tensor is merely slower. Write always produces aligned files.
//
// Write/WriteFile produce files byte-identical to the reference writer
// (Python safetensors.torch.save_file) for the same tensors and at most one
// metadata entry: compact JSON, "__metadata__" first, tensors ordered by
// decreasing dtype (the reference's enum order) then by name, header padded
// with spaces to 8 bytes. WriteFile replaces its target atomically.
package safetensors
