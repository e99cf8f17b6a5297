package unet

import (
	"fmt"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// The tiny SDXL fixture (sdxl/README.md) exercises what SD1 does not:
// a first level without attention, transformer depth 1/2/3 (mid 3, up
// reversed), 2 heads of width 16, Linear projections, and the text_time
// added conditioning.
func TestGoldenSDXL(t *testing.T) {
	f, err := safetensors.Open(golden.Shared(t, "sdxl/unet_eps.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	folder, err := LoadDiffusersFolder(golden.Shared(t, "sdxl/diffusers"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer folder.Close()
	single, err := LoadSingleFile(golden.Shared(t, "sdxl/tiny-sdxl.safetensors"), InferOptions{HeadDim: 16, AdditionTimeEmbedDim: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	if g, w := configString(single.Config), configString(folder.Config); g != w {
		t.Errorf("inferred config\n%s\nwant\n%s", g, w)
	}
	for i := range 3 {
		c := fmt.Sprintf("case%d", i)
		xv, xs := golden.Float32(t, f, c+".x")
		tv, _ := golden.Float32(t, f, c+".timestep")
		cv, cs := golden.Float32(t, f, c+".context")
		yv, ys := golden.Float32(t, f, c+".y")
		pv, ps := golden.Float32(t, f, c+".pooled")
		idv, _ := golden.Float32(t, f, c+".time_ids")
		want, _ := golden.Float32(t, f, c+".eps")
		b := xs[0]
		ts := make([]float32, b)
		ids := make([][]float32, b)
		for j := range ts {
			ts[j] = tv[0] // one timestep for the whole batch
			ids[j] = idv[6*j : 6*j+6]
		}
		y, err := folder.Config.SDXLVector(tensor.FromData(pv, ps...), ids)
		if err != nil {
			t.Fatal(err)
		}
		golden.AssertClose(t, c+".y", y.Data, yv, 1e-5, 0)
		x, ctx, yref := tensor.FromData(xv, xs...), tensor.FromData(cv, cs...), tensor.FromData(yv, ys...)
		ea := folder.ForwardY(x, ts, ctx, yref, nil)
		golden.AssertClose(t, c+".eps (diffusers)", ea.Data, want, 1e-4, 0)
		eb := single.ForwardY(x, ts, ctx, yref, nil)
		golden.AssertClose(t, c+".eps (single file)", eb.Data, want, 1e-4, 0)
	}
}
