package sampling

import (
	"math"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/tensor"
)

// The guidance rules are checked on the recorded first model call of real
// runs of the tiny SD1 and SDXL models: the recorded cond/uncond (and, for
// SD1, the empty prompt's prediction at the same x from the negempty run)
// are fed to the guider by a replaying model, and the guided result (or the
// sampler's first step) is compared with the rule's formula evaluated here
// in float64 from the same recorded values.

// call0 is the first recorded call of a run.
type call0 struct {
	x                   *tensor.Tensor
	sigma               float64
	cond, uncond, empty *tensor.Tensor // empty nil when not recorded
	next                float64        // σ_1
}

func loadCall0(t *testing.T, rel string) call0 {
	t.Helper()
	f := golden.Open(t, rel)
	rec := &recording{f: f, cache: map[string][]float32{}, shape: map[string][]int{}}
	sig, _ := rec.get(t, "sigmas")
	cs, _ := rec.get(t, "calls.sigma")
	return call0{x: rec.item(t, "calls.x", 0), sigma: float64(cs[0]), next: float64(sig[1]),
		cond: rec.item(t, "calls.denoised_cond", 0), uncond: rec.item(t, "calls.denoised_uncond", 0)}
}

func guidanceFixtures(t *testing.T) map[string]call0 {
	sd1 := loadCall0(t, "sd1/sampling/euler_normal_cfg7p5_negtext.safetensors")
	empty := loadCall0(t, "sd1/sampling/euler_normal_cfg7p5_negempty.safetensors")
	assertBitExact(t, "x of the negempty run", empty.x.Data, sd1.x.Data)
	sd1.empty = empty.uncond
	xl := loadCall0(t, "sdxl/runs/comfy_euler_normal_64x96_cfg7p0_negtext.safetensors")
	return map[string]call0{"sd1": sd1, "sdxl": xl}
}

// replayModel answers a batch with the recorded prediction of each
// conditioning (recognised by its context pointer).
type replayModel struct {
	by    map[*tensor.Tensor]*tensor.Tensor
	calls [][]Cond
}

func (m *replayModel) DenoiseBatch(x *tensor.Tensor, sigma float64, conds []Cond) ([]*tensor.Tensor, error) {
	m.calls = append(m.calls, conds)
	out := make([]*tensor.Tensor, len(conds))
	for i, c := range conds {
		out[i] = m.by[c.Context].Clone()
	}
	return out, nil
}

// guiderFor builds a CFG guider over the recorded predictions.
func guiderFor(c call0, scale float64) (*CFG, *replayModel) {
	pos, neg, emp := tensor.New(1), tensor.New(1), tensor.New(1)
	m := &replayModel{by: map[*tensor.Tensor]*tensor.Tensor{pos: c.cond, neg: c.uncond, emp: c.empty}}
	return &CFG{Model: m, Cond: Cond{Context: pos}, Uncond: Cond{Context: neg}, Empty: Cond{Context: emp}, Scale: scale}, m
}

func f64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, a := range v {
		out[i] = float64(a)
	}
	return out
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, a := range v {
		out[i] = float32(a)
	}
	return out
}

// Tolerance of a float32 rule against its float64 formula: values are
// |x| ≲ 100 here.
const ruleAtol, ruleRtol = 2e-5, 2e-6

func TestGuidanceRulesGolden(t *testing.T) {
	for name, c := range guidanceFixtures(t) {
		t.Run(name, func(t *testing.T) {
			cond, uncond := f64s(c.cond.Data), f64s(c.uncond.Data)
			n := len(cond)
			const w = 5.0

			// cfg: the rule as the pipeline uses it, and today's CFG.
			g, m := guiderFor(c, w)
			if err := (GuidanceOptions{Rule: "cfg"}).Configure(g, []float64{c.sigma, c.next}); err != nil {
				t.Fatal(err)
			}
			got, err := g.Denoise(c.x, c.sigma)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, n)
			for i := range want {
				want[i] = uncond[i] + w*(cond[i]-uncond[i])
			}
			golden.AssertClose(t, "cfg", got.Data, to32(want), ruleAtol, ruleRtol)
			if len(m.calls) != 1 || len(m.calls[0]) != 2 {
				t.Errorf("cfg: model batches %d, want one [uncond, cond]", len(m.calls))
			}

			// apg: η, r, β by hand. Two calls at the same σ then one at a
			// lower σ exercise the momentum; a higher σ resets it.
			const eta, thr, beta = 0.3, 2.0, -0.5
			g, _ = guiderFor(c, w)
			if err := (GuidanceOptions{Rule: "apg", APGEta: eta, APGNormThreshold: thr, APGMomentum: beta}).Configure(g, nil); err != nil {
				t.Fatal(err)
			}
			apg := func(delta []float64) []float64 {
				d := append([]float64(nil), delta...)
				if nn := math.Sqrt(dot64(d, d)); thr/nn < 1 {
					for i := range d {
						d[i] *= thr / nn
					}
				}
				cn := math.Sqrt(dot64(cond, cond))
				k := dot64(d, cond) / (cn * cn)
				out := make([]float64, n)
				for i := range d {
					par := k * cond[i]
					out[i] = cond[i] + w*((d[i]-par)+eta*par)
				}
				return out
			}
			delta := make([]float64, n)
			for i := range delta {
				delta[i] = cond[i] - uncond[i]
			}
			run := make([]float64, n)
			copy(run, delta)
			for k, sigma := range []float64{c.sigma, c.sigma, c.next, c.sigma} {
				got, err := g.Denoise(c.x, sigma)
				if err != nil {
					t.Fatal(err)
				}
				switch k {
				case 1, 2:
					for i := range run {
						run[i] = beta*run[i] + delta[i]
					}
				case 3: // σ rose: the average restarts
					copy(run, delta)
				}
				golden.AssertClose(t, "apg", got.Data, to32(apg(run)), ruleAtol, ruleRtol)
			}
			// APG with η = 1, r = 0, β = 0 keeps Δ: guided = cond + w·Δ.
			g, _ = guiderFor(c, w)
			if err := (GuidanceOptions{Rule: "apg", APGEta: 1}).Configure(g, nil); err != nil {
				t.Fatal(err)
			}
			got, _ = g.Denoise(c.x, c.sigma)
			for i := range want {
				want[i] = cond[i] + w*delta[i]
			}
			golden.AssertClose(t, "apg η=1", got.Data, to32(want), ruleAtol, ruleRtol)

			// perpneg.
			if c.empty != nil {
				const ns = 0.7
				g, m := guiderFor(c, w)
				if err := (GuidanceOptions{Rule: "perpneg", PerpNegScale: ns}).Configure(g, nil); err != nil {
					t.Fatal(err)
				}
				var seen Call
				g.Observer = func(cl Call) { seen = cl }
				got, err := g.Denoise(c.x, c.sigma)
				if err != nil {
					t.Fatal(err)
				}
				empty := f64s(c.empty.Data)
				pos, neg := make([]float64, n), make([]float64, n)
				for i := range pos {
					pos[i], neg[i] = cond[i]-empty[i], uncond[i]-empty[i]
				}
				k := dot64(neg, pos) / dot64(pos, pos)
				for i := range want {
					want[i] = empty[i] + w*(pos[i]-ns*(neg[i]-k*pos[i]))
				}
				golden.AssertClose(t, "perpneg", got.Data, to32(want), ruleAtol, ruleRtol)
				if len(m.calls[0]) != 3 || seen.Empty == nil || seen.Uncond == nil {
					t.Errorf("perpneg: batch of %d, observer empty %v uncond %v; want [empty, uncond, cond] all observed", len(m.calls[0]), seen.Empty != nil, seen.Uncond != nil)
				}
			}

			// euler_cfg_pp, one step: x₁ = guided + σ₁·(x − uncond)/σ₀.
			x := f64s(c.x.Data)
			const wpp = 1.5
			g, _ = guiderFor(c, wpp)
			x1, err := SampleEulerCFGPP(g, c.x, []float64{c.sigma, c.next}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				guided := uncond[i] + wpp*(cond[i]-uncond[i])
				want[i] = guided + c.next*(x[i]-uncond[i])/c.sigma
			}
			golden.AssertClose(t, "euler_cfg_pp step", x1.Data, to32(want), 1e-4, 1e-5)
		})
	}
}

func TestGuidanceDegenerate(t *testing.T) {
	for name, c := range guidanceFixtures(t) {
		t.Run(name, func(t *testing.T) {
			sigmas := []float64{c.sigma, c.next, 0}
			// The interval rule with an interval holding every σ is CFG bit
			// for bit; one holding none is plain sampling on cond (= cfg 1).
			plain, _ := guiderFor(c, 7)
			want, _ := SampleEuler(plain, c.x, sigmas, nil)
			all, _ := guiderFor(c, 7)
			(GuidanceOptions{Interval: true, IntervalLo: 0, IntervalHi: 1e9}).Configure(all, sigmas)
			got, _ := SampleEuler(all, c.x, sigmas, nil)
			assertBitExact(t, "interval ⊇ σ vs cfg", got.Data, want.Data)

			one, _ := guiderFor(c, 1)
			want, _ = SampleEuler(one, c.x, sigmas, nil)
			none, m := guiderFor(c, 7)
			(GuidanceOptions{Interval: true, IntervalLo: 1e8, IntervalHi: 1e9}).Configure(none, sigmas)
			got, _ = SampleEuler(none, c.x, sigmas, nil)
			assertBitExact(t, "empty interval vs cfg 1", got.Data, want.Data)
			for _, b := range m.calls {
				if len(b) != 1 {
					t.Fatalf("outside the interval the batch has %d conditionings, want [cond] only", len(b))
				}
			}

			// schedule constant is today's CFG bit for bit.
			for _, s := range []string{"", "constant"} {
				g, _ := guiderFor(c, 7)
				if err := (GuidanceOptions{Schedule: s, ScaleEnd: 2}).Configure(g, sigmas); err != nil {
					t.Fatal(err)
				}
				got, _ = SampleEuler(g, c.x, sigmas, nil)
				ref, _ := guiderFor(c, 7)
				want, _ = SampleEuler(ref, c.x, sigmas, nil)
				assertBitExact(t, "schedule "+s, got.Data, want.Data)
			}

			// CFG++ with cond == uncond is Euler (up to the order of the
			// float32 operations and α = 1 ± 1 ulp).
			same := c
			same.uncond = c.cond
			for _, pair := range [][2]string{{"euler_cfg_pp", "euler"}, {"euler_ancestral_cfg_pp", "euler_ancestral"}} {
				pp, _ := LookupSampler(pair[0])
				ref, _ := LookupSampler(pair[1])
				g1, _ := guiderFor(same, 3)
				got, err := pp(g1, c.x, sigmas, &Options{Noise: TorchNoiseSampler(5)})
				if err != nil {
					t.Fatal(err)
				}
				g2, _ := guiderFor(same, 3)
				want, _ := ref(g2, c.x, sigmas, &Options{Noise: TorchNoiseSampler(5)})
				golden.AssertClose(t, pair[0]+" with cond == uncond vs "+pair[1], got.Data, want.Data, 1e-4, 1e-5)
			}
			// And CFG++ asks for uncond even at scale 1 (ComfyUI's
			// disable_cfg1_optimization).
			g, m := guiderFor(c, 1)
			SampleEulerCFGPP(g, c.x, sigmas, nil)
			if len(m.calls[0]) != 2 {
				t.Errorf("euler_cfg_pp at scale 1: batch of %d, want [uncond, cond]", len(m.calls[0]))
			}
		})
	}
}

func TestScheduleScale(t *testing.T) {
	if ScheduleScale("linear", 8, 2, 0, 5) != 8 || ScheduleScale("linear", 8, 2, 4, 5) != 2 || ScheduleScale("linear", 8, 2, 2, 5) != 5 {
		t.Error("linear schedule endpoints/midpoint")
	}
	if ScheduleScale("cosine", 8, 2, 0, 5) != 8 || math.Abs(ScheduleScale("cosine", 8, 2, 4, 5)-2) > 1e-12 || math.Abs(ScheduleScale("cosine", 8, 2, 2, 5)-5) > 1e-12 {
		t.Error("cosine schedule endpoints/midpoint")
	}
	// The guider applies step i's scale at σ_i.
	sigmas := []float64{10, 5, 1, 0}
	g := &CFG{Scale: 9}
	if err := (GuidanceOptions{Schedule: "linear", ScaleEnd: 3}).Configure(g, sigmas); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{9, 6, 3} {
		if got := g.ScaleAt(sigmas[i]); got != want {
			t.Errorf("step %d: scale %v, want %v", i, got, want)
		}
	}
	for _, o := range []GuidanceOptions{{Rule: "nope"}, {Rule: "apg", APGEta: 11}, {Rule: "apg", APGNormThreshold: -1},
		{Rule: "apg", APGMomentum: 2}, {Schedule: "zigzag"}, {Interval: true, IntervalLo: 3, IntervalHi: 1}} {
		if err := o.Check(7, 0); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if err := (GuidanceOptions{Rule: "perpneg"}).Check(7, 0.5); err == nil {
		t.Error("perpneg with guidance rescale: no error")
	}
}
