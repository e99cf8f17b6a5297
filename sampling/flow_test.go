package sampling

import (
	"path/filepath"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

type fluxMeta struct {
	Schedules []struct {
		Key         string `json:"key"`
		ImageSeqLen int    `json:"image_seq_len"`
		NumSteps    int    `json:"num_steps"`
		Shift       bool   `json:"shift"`
	} `json:"schedules"`
	Runs []struct {
		Name        string  `json:"name"`
		File        string  `json:"file"`
		Seed        uint64  `json:"seed"`
		Steps       int     `json:"steps"`
		Shift       bool    `json:"shift"`
		TrueCFG     float64 `json:"true_cfg"`
		Width       int     `json:"width"`
		Height      int     `json:"height"`
		LatentShape []int   `json:"latent_shape"`
		ImageSeqLen int     `json:"image_seq_len"`
	} `json:"runs"`
}

func loadFluxMeta(t *testing.T) fluxMeta {
	t.Helper()
	var m fluxMeta
	golden.ReadJSON(t, golden.Shared(t, "flux/meta.json"), &m)
	return m
}

func TestFluxSchedules(t *testing.T) {
	m := loadFluxMeta(t)
	f := golden.Open(t, "flux/schedules.safetensors")
	if len(m.Schedules) == 0 {
		t.Fatal("flux/meta.json lists no schedules")
	}
	for _, s := range m.Schedules {
		got, err := FluxSchedule(s.NumSteps, s.ImageSeqLen, s.Shift)
		if err != nil {
			t.Fatal(err)
		}
		assertRel(t, s.Key, got, wantF32(t, f, s.Key), 1e-6, 0)
	}
	if FluxImageSeqLen(72, 40) != 15 || FluxImageSeqLen(1024, 1024) != 4096 {
		t.Error("FluxImageSeqLen does not round up to 16-pixel patches")
	}
}

// TestFluxRuns checks the initial noise and the schedule of every Flux run
// and, where the run recorded the velocities (prompt runs), replays the
// Euler loop (and true CFG) and compares every step.
func TestFluxRuns(t *testing.T) {
	m := loadFluxMeta(t)
	for _, run := range m.Runs {
		t.Run(run.Name, func(t *testing.T) {
			f, err := safetensors.Open(golden.Shared(t, filepath.Join("flux", run.File)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			noise := PrepareNoise(run.Seed, run.LatentShape...)
			want, _ := golden.Float32(t, f, "noise")
			assertBitExact(t, "noise", noise.Data, want)
			if n := FluxImageSeqLen(run.Height, run.Width); n != run.ImageSeqLen {
				t.Errorf("image_seq_len %d, want %d", n, run.ImageSeqLen)
			}
			ts, err := FluxSchedule(run.Steps, run.ImageSeqLen, run.Shift)
			if err != nil {
				t.Fatal(err)
			}
			assertRel(t, "timesteps", ts, wantF32(t, f, "timesteps"), 1e-6, 0)
			if !f.Has("pred_per_step") {
				return
			}
			x0, shape := golden.Float32(t, f, "img_packed_init")
			preds, pshape := golden.Float32(t, f, "pred_per_step")
			perStep, _ := golden.Float32(t, f, "packed_per_step")
			var pos, neg []float32
			if f.Has("pos_pred_per_step") {
				pos, _ = golden.Float32(t, f, "pos_pred_per_step")
				neg, _ = golden.Float32(t, f, "neg_pred_per_step")
			}
			step := 0
			model := func(x *tensor.Tensor, tt float64) (*tensor.Tensor, error) {
				k := step
				step++
				if tt != ts[k] {
					t.Errorf("step %d: t %v, want %v", k, tt, ts[k])
				}
				v := slice(preds, pshape, k)
				if pos != nil {
					g := TrueCFG(slice(pos, pshape, k), slice(neg, pshape, k), run.TrueCFG)
					golden.AssertClose(t, "true CFG pred", g.Data, v.Data, 1e-5, 1e-5)
				}
				return v, nil
			}
			final, err := SampleFlowEuler(model, tensor.FromData(append([]float32(nil), x0...), shape...), ts,
				func(i int, _, x *tensor.Tensor) {
					golden.AssertClose(t, "packed_per_step", x.Data, slice(perStep, pshape, i).Data, runAtol, runRtol)
				})
			if err != nil {
				t.Fatal(err)
			}
			wantFinal, _ := golden.Float32(t, f, "packed_final")
			golden.AssertClose(t, "packed_final", final.Data, wantFinal, runAtol, runRtol)
		})
	}
}
