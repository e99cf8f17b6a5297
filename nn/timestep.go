package nn

import (
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// TimestepEmbedding returns the sinusoidal timestep features of diffusers'
// get_timestep_embedding, [len(timesteps), dim]: with half = dim/2,
//
//	freq_i = exp(−ln(maxPeriod) · i / (half − downscaleFreqShift)),  i = 0..half−1
//	arg_i  = scale · t · freq_i
//	emb    = [sin(arg), cos(arg)]   ([cos(arg), sin(arg)] when flipSinToCos)
//
// zero-padded by one column when dim is odd. Each step is rounded to
// float32 as the float32 torch computation does, so results match it to
// an ulp. SD1: dim 320, flip true, shift 0 (freq_i = 10000^(−i/160)),
// scale 1, maxPeriod 10000.
func TimestepEmbedding(timesteps []float32, dim int, flipSinToCos bool, downscaleFreqShift, scale float32, maxPeriod float64) *tensor.Tensor {
	half := dim / 2
	out := tensor.New(len(timesteps), dim)
	freq := make([]float32, half)
	logMax := float32(-math.Log(maxPeriod))
	for i := range freq {
		exponent := logMax * float32(i) / (float32(half) - downscaleFreqShift)
		freq[i] = float32(math.Exp(float64(exponent)))
	}
	first, second := 0, half // columns of sin and cos
	if flipSinToCos {
		first, second = half, 0
	}
	for n, t := range timesteps {
		row := out.Data[n*dim : (n+1)*dim]
		for i, f := range freq {
			arg := float64(scale * (t * f))
			row[first+i] = float32(math.Sin(arg))
			row[second+i] = float32(math.Cos(arg))
		}
	}
	return out
}
