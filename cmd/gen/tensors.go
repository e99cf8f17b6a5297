package main

import (
	"github.com/godiffusion/godiffusion/internal/outfile"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// named is a tensor with its name in an output file.
type named struct {
	name string
	t    *tensor.Tensor
}

// writeTensors writes float32 tensors as .safetensors bytes into the
// prepared output out (committed by the caller).
func writeTensors(out *outfile.File, ts ...named) error {
	st := make([]safetensors.Tensor, len(ts))
	for i, n := range ts {
		st[i] = safetensors.NewF32Tensor(n.name, n.t.Shape, n.t.Data)
	}
	buf, err := safetensors.Marshal(st, nil)
	if err != nil {
		return err
	}
	return out.Write(buf)
}
