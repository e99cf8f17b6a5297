package tensor

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/asm"
)

// attentionRefBF16 is the reference of attention in bf16: the definition
// in float64 on the operands the bf16 products see, the scaled queries
// bf16(q·scale) (scale in the units of attnPlan.scale, divided out again
// here), keys and values rounded to bfloat16. What it leaves out is the
// rounding of the weights p, whose effect on the output is at most
// 2⁻⁸·max|v| (see attention_bf16.go), and float32 accumulation.
func attentionRefBF16(q, k, v *Tensor, heads int, opt AttentionOptions) []float64 {
	d := q.Shape[2] / heads
	scale := float32(expLog2e64 / math.Sqrt(float64(d)))
	if opt.Scale != 0 {
		scale = float32(expLog2e64 * float64(opt.Scale))
	}
	q64 := make([]float64, len(q.Data))
	for i, x := range q.Data {
		q64[i] = float64(asm.BFloatToFloat(asm.FloatToBFloat(x*scale))) / float64(scale)
	}
	return attentionRef64(q.Shape[0], q.Shape[1], k.Shape[1], q.Shape[2], q64, widen64(roundBF16(k.Data)), widen64(roundBF16(v.Data)), heads, opt)
}

// TestAttentionBF16 runs attention with bf16 products at every CPU level
// on the shapes of TestAttention, with a relative bias (T5) and with later
// key blocks whose scores force the running maximum up, against
// attentionRefBF16 within 2⁻⁸·max|v| (the weights' rounding) plus the
// float32 bound of TestAttention. It also checks that the bf16 products
// are in use: the result must differ from the float32 one.
func TestAttentionBF16(t *testing.T) {
	type tcase struct {
		b, lq, lk, heads, d int
		causal              bool
		bias, big           bool
	}
	cases := []tcase{
		{1, 1, 1, 1, 1, false, false, false},
		{2, 5, 7, 3, 2, false, false, false},
		{1, 77, 77, 4, 16, true, false, false},
		{2, 64, 77, 8, 5, false, false, false},    // odd D: a half-empty last pair
		{1, 300, 700, 2, 40, false, false, false}, // SD 1.5's head dim, key blocks with a ragged tail
		{1, 600, 600, 2, 8, true, false, false},
		{1, 1100, 20, 1, 3, true, false, false},
		{1, 70, 300, 1, 512, false, false, false},
		{1, 300, 300, 2, 16, false, true, false},
		{1, 70, 400, 2, 8, true, true, false},
		{1, 900, 900, 1, 4, false, false, true},
		{1, 900, 900, 1, 4, true, false, true},
	}
	forEachAsmLevel(t, func(t *testing.T) {
		for _, c := range cases {
			name := fmt.Sprintf("b%d_q%d_k%d_h%d_d%d_causal%v_bias%v_big%v", c.b, c.lq, c.lk, c.heads, c.d, c.causal, c.bias, c.big)
			t.Run(name, func(t *testing.T) {
				q := randTensor(71, 2, 0, c.b, c.lq, c.heads*c.d)
				k := randTensor(72, 2, 0.5, c.b, c.lk, c.heads*c.d)
				v := randTensor(73, 1, 0, c.b, c.lk, c.heads*c.d)
				opt := AttentionOptions{Causal: c.causal}
				if c.bias {
					opt.Scale = 1
					opt.RelBias = randTensor(84, 12, 0, c.heads*(c.lq+c.lk-1)).Data
				}
				if c.big { // later blocks raise the maximum past the lazy bound
					for j := 600; j < 900; j++ {
						for e := range c.d {
							k.Data[j*c.d+e] *= 40
						}
					}
				}
				opt.Precision = PrecisionFP32
				fp32 := AttentionWith(q, k, v, c.heads, opt)
				opt.Precision = PrecisionBF16
				got := AttentionWith(q, k, v, c.heads, opt)
				assertClose(t, name, got.Data, attentionRefBF16(q, k, v, c.heads, opt), 0x1p-8+2e-6, 1e-5)
				if c.lk > 1 && slices.Equal(got.Data, fp32.Data) {
					t.Errorf("%s: bf16 result equals the float32 one: the bf16 products are not in use", name)
				}
			})
		}
	})
}

// TestAttentionBF16Default checks that attention follows the process
// default precision (SetPrecision) when its options leave it unset.
func TestAttentionBF16Default(t *testing.T) {
	defer SetPrecision(PrecisionDefault)
	q := randTensor(71, 2, 0, 1, 50, 40)
	k := randTensor(72, 2, 0.5, 1, 60, 40)
	v := randTensor(73, 1, 0, 1, 60, 40)
	SetPrecision(PrecisionBF16)
	got := Attention(q, k, v, 1, false)
	want := AttentionWith(q, k, v, 1, AttentionOptions{Precision: PrecisionBF16})
	if !slices.Equal(got.Data, want.Data) {
		t.Error("with SetPrecision(PrecisionBF16), Attention does not run in bf16")
	}
}
