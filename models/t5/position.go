package t5

import "math"

// RelativePositionBucket maps the relative position rp = key − query to
// one of buckets buckets, bidirectionally, as Hugging Face's
// T5Attention._relative_position_bucket (Raffel et al. 2020, §2.1): half
// the buckets for keys after the query, half for keys before; within a
// half, distances below buckets/4 get a bucket each, larger ones share
// logarithmically wider buckets up to maxDistance, beyond which all share
// the last:
//
//	nb = buckets/2, exact = nb/2, b = (rp > 0)·nb, n = |rp|
//	b += n                                                      if n < exact
//	b += min(exact + ⌊ln(n/exact)/ln(maxDistance/exact)·(nb − exact)⌋, nb − 1)  otherwise
//
// The logarithm is taken in float32, as torch does, so bucket edges agree.
func RelativePositionBucket(rp, buckets, maxDistance int) int {
	nb := buckets / 2
	exact := nb / 2
	b := 0
	if rp > 0 {
		b = nb
	}
	n := rp
	if n < 0 {
		n = -n
	}
	if n < exact {
		return b + n
	}
	l := float32(math.Log(float64(float32(n) / float32(exact))))
	v := l / float32(math.Log(float64(maxDistance)/float64(exact))) * float32(nb-exact)
	large := exact + int(v)
	return b + min(large, nb-1)
}

// positionBias returns the relative bias of a length-L sequence in
// tensor.AttentionOptions.RelBias layout: bias[h·(2L−1) + (j − i + L − 1)]
// = table[bucket(j − i), h], table being block 0's
// relative_attention_bias [buckets, heads].
func (e *Encoder) positionBias(L int) []float32 {
	c := e.Config
	n := 2*L - 1
	bias := make([]float32, c.Heads*n)
	for r := range n {
		bk := RelativePositionBucket(r-(L-1), c.Buckets, c.MaxDistance)
		for h := range c.Heads {
			bias[h*n+r] = e.RelBias[bk*c.Heads+h]
		}
	}
	return bias
}
