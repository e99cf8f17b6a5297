package safetensors

// DType names a tensor element type as it is spelled in the header.
type DType string

// The element types this package reads and writes. All are little-endian;
// F8_E4M3 is the OCP E4M3FN format (no infinities), F8_E8M0 an unsigned
// power-of-two scale 2^(b−127) (0xFF is NaN), BOOL one byte per element.
const (
	F64    DType = "F64"
	F32    DType = "F32"
	F16    DType = "F16"
	BF16   DType = "BF16"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
	F8E8M0 DType = "F8_E8M0"
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U64    DType = "U64"
	U32    DType = "U32"
	U16    DType = "U16"
	U8     DType = "U8"
	BOOL   DType = "BOOL"
)

// DTypes lists every dtype this package understands, in the reference
// implementation's enum order (increasing element size).
var DTypes = []DType{BOOL, U8, I8, F8E5M2, F8E4M3, F8E8M0, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64}

// Size returns the size in bytes of one element, or 0 for a dtype this
// package does not understand.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case F8E4M3, F8E5M2, F8E8M0, I8, U8, BOOL:
		return 1
	}
	return 0
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	switch d {
	case F64, F32, F16, BF16, F8E4M3, F8E5M2, F8E8M0:
		return true
	}
	return false
}

// IsInteger reports whether d is an integer type or BOOL (the types Int64
// accepts).
func (d DType) IsInteger() bool {
	switch d {
	case I64, I32, I16, I8, U64, U32, U16, U8, BOOL:
		return true
	}
	return false
}

// rank is d's position in the reference implementation's Dtype enum, which
// its writer sorts by (descending) so larger elements come first and every
// tensor stays aligned to its element size. -1 for unknown dtypes.
func (d DType) rank() int {
	for i, x := range DTypes {
		if x == d {
			return i
		}
	}
	return -1
}

// unsupportedDTypes are dtypes the format defines that this package cannot
// decode (sub-byte floats, complex, the "fnuz" fp8 variants); naming them in
// errors separates "not supported" from "misspelled".
var unsupportedDTypes = map[string]bool{
	"F4": true, "F6_E2M3": true, "F6_E3M2": true, "F8_E4M3FNUZ": true,
	"F8_E5M2FNUZ": true, "C64": true,
}
