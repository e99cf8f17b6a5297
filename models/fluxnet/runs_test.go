package fluxnet

import (
	"math"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// fluxRun is a meta.json → runs entry.
type fluxRun struct {
	golden.Run
	File         string   `json:"file"`
	Conditioning string   `json:"conditioning"`
	Model        string   `json:"model"`
	Shift        bool     `json:"shift"`
	Guidance     *float64 `json:"guidance"`
	TrueCFG      float64  `json:"true_cfg"`
}

func syntheticRuns(t *testing.T) []fluxRun {
	var meta struct {
		Runs []fluxRun `json:"runs"`
	}
	golden.ReadJSON(t, golden.Shared(t, "flux/meta.json"), &meta)
	var out []fluxRun
	for _, r := range meta.Runs {
		if r.Conditioning == "synthetic" && !strings.HasPrefix(r.Name, "prompt_") {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		t.Fatal("meta.json lists no synthetic runs")
	}
	return out
}

// maxAbs returns max |x|.
func maxAbs(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// assertRel compares within 1e-3 of max |want| (README: full runs).
func assertRel(t *testing.T, what string, got, want []float32) {
	t.Helper()
	golden.AssertClose(t, what, got, want, 1e-3*maxAbs(want), 0)
}

// replayRun samples run r with the model from modelPath (Velocity on the
// unpacked latent, FluxSchedule, SampleFlowEuler, TrueCFG with the positive
// and negative text as one batch of two), comparing the schedule, x after
// every step, the final latent and, when ae is not nil, the decoded image.
func replayRun(t *testing.T, r fluxRun, modelPath string, ae *vae.VAE) {
	m := loadTiny(t, modelPath)
	f := golden.Open(t, "flux/"+r.File)
	noise := fixture(t, f, "noise")
	txt, y := fixture(t, f, "txt"), fixture(t, f, "y")
	g := 0.0
	if r.Guidance != nil {
		g = *r.Guidance
	}
	h, w := LatentSize(r.Height, r.Width)
	if noise.Shape[2] != h || noise.Shape[3] != w {
		t.Fatalf("LatentSize(%d, %d) = %d×%d, noise is %v", r.Height, r.Width, h, w, noise.Shape)
	}
	ts, err := sampling.FluxSchedule(r.Steps, sampling.FluxImageSeqLen(r.Height, r.Width), r.Shift)
	if err != nil {
		t.Fatal(err)
	}
	ts32 := make([]float32, len(ts))
	for i, v := range ts {
		ts32[i] = float32(v)
	}
	assertRel(t, r.Name+" timesteps", ts32, fixture(t, f, "timesteps").Data)
	packedInit, err := Pack(noise)
	if err != nil {
		t.Fatal(err)
	}
	assertRel(t, r.Name+" img_packed_init", packedInit.Data, fixture(t, f, "img_packed_init").Data)

	model := func(x *tensor.Tensor, tc float64) (*tensor.Tensor, error) {
		return m.Velocity(x, tc, txt, y, g)
	}
	if r.TrueCFG > 1 {
		bt := tensor.Concat(0, txt, fixture(t, f, "neg_txt"))
		by := tensor.Concat(0, y, fixture(t, f, "neg_y"))
		model = func(x *tensor.Tensor, tc float64) (*tensor.Tensor, error) {
			v, err := m.Velocity(tensor.Concat(0, x, x), tc, bt, by, g)
			if err != nil {
				return nil, err
			}
			pn := tensor.Split(v, 0, 1, 1)
			return sampling.TrueCFG(pn[0], pn[1], r.TrueCFG), nil
		}
	}
	perStep := fixture(t, f, "packed_per_step")
	stepLen := len(perStep.Data) / r.Steps
	final, err := sampling.SampleFlowEuler(model, noise, ts, func(i int, _, x *tensor.Tensor) {
		p, err := Pack(x)
		if err != nil {
			t.Fatal(err)
		}
		want := perStep.Data[i*stepLen : (i+1)*stepLen]
		golden.AssertClose(t, r.Name+" packed_per_step", p.Data, want, 1e-3*maxAbs(want), 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	assertRel(t, r.Name+" latents", final.Data, fixture(t, f, "latents").Data)
	if ae != nil {
		assertRel(t, r.Name+" image", ae.Decode(final).Data, fixture(t, f, "image").Data)
	}
}

// TestSyntheticRunsGolden replays every synthetic run of the fixtures
// (dev with the time shift, schnell without, the 72×40 ceil case, true
// CFG) through the BFL-layout tiny models and the tiny AE.
func TestSyntheticRunsGolden(t *testing.T) {
	ae, err := vae.Load(golden.Shared(t, "flux/ae-tiny.safetensors"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ae.Close()
	for _, r := range syntheticRuns(t) {
		t.Run(r.Name, func(t *testing.T) { replayRun(t, r, tinyPath(t, r.Model), ae) })
	}
}
