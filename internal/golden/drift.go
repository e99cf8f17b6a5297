package golden

import (
	"fmt"
	"math"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// ImageDistance is how far one 8-bit image is from another of the same
// size: the largest and the mean absolute difference of a channel value
// (0–255), and the peak signal-to-noise ratio
//
//	PSNR = 10·log10(255² / MSE)  dB,   MSE = mean of the squared differences
//
// (+Inf for identical images).
type ImageDistance struct {
	Max  int
	Mean float64
	PSNR float64
}

// String formats the distance as a table row would: "max 3, mean 0.412, PSNR 49.1 dB".
func (d ImageDistance) String() string {
	return fmt.Sprintf("max %d, mean %.3f, PSNR %.1f dB", d.Max, d.Mean, d.PSNR)
}

// CompareImages returns the ImageDistance of got from want, or an error
// when their lengths differ or they are empty.
func CompareImages(got, want []uint8) (ImageDistance, error) {
	if len(got) != len(want) || len(got) == 0 {
		return ImageDistance{}, fmt.Errorf("images of %d and %d bytes", len(got), len(want))
	}
	var d ImageDistance
	var sum, sq float64
	for i, g := range got {
		e := int(g) - int(want[i])
		if e < 0 {
			e = -e
		}
		d.Max = max(d.Max, e)
		sum += float64(e)
		sq += float64(e * e)
	}
	n := float64(len(got))
	d.Mean = sum / n
	d.PSNR = math.Inf(1)
	if sq > 0 {
		d.PSNR = 10 * math.Log10(255*255/(sq/n))
	}
	return d, nil
}

// DriftLimit bounds the distance of a bf16 image from the fp32 image of
// the same run: a test fails when any run's distance exceeds it.
type DriftLimit struct {
	Max     int     // largest channel difference
	Mean    float64 // mean channel difference
	MinPSNR float64 // dB
}

// WithPrecision runs f with the process-wide tensor precision set to p and
// restores the previous default afterwards, so that no other test sees it.
// (Tests that call it must not run in parallel with other tensor users.)
func WithPrecision(p tensor.Precision, f func()) {
	prev := tensor.DefaultPrecision()
	tensor.SetPrecision(p)
	defer tensor.SetPrecision(prev)
	f()
}

// CheckDrift compares the bf16 image of a run with its fp32 image,
// logs the distance, and fails t when it exceeds lim. It returns the
// distance (for a summary).
func CheckDrift(t testing.TB, run string, bf16, fp32 []uint8, lim DriftLimit) ImageDistance {
	t.Helper()
	d, err := CompareImages(bf16, fp32)
	if err != nil {
		t.Fatalf("%s: bf16 vs fp32: %v", run, err)
	}
	t.Logf("%s: bf16 vs fp32: %v", run, d)
	if d.Max > lim.Max || d.Mean > lim.Mean || d.PSNR < lim.MinPSNR {
		t.Errorf("%s: bf16 image drifted from the fp32 image: %v, limit max %d, mean %.3f, PSNR ≥ %.1f dB",
			run, d, lim.Max, lim.Mean, lim.MinPSNR)
	}
	return d
}

// DriftSummary accumulates the worst distances over runs.
type DriftSummary struct {
	Runs    int
	Max     int
	Mean    float64 // the largest mean of a run
	AvgMean float64 // the mean of the runs' means
	MinPSNR float64
}

// Add folds one run's distance into the summary.
func (s *DriftSummary) Add(d ImageDistance) {
	if s.Runs == 0 {
		s.MinPSNR = math.Inf(1)
	}
	s.AvgMean = (s.AvgMean*float64(s.Runs) + d.Mean) / float64(s.Runs+1)
	s.Runs++
	s.Max = max(s.Max, d.Max)
	s.Mean = max(s.Mean, d.Mean)
	s.MinPSNR = min(s.MinPSNR, d.PSNR)
}

// String formats the summary for a test log and the BENCHMARKS.md table.
func (s DriftSummary) String() string {
	return fmt.Sprintf("%d runs: max %d, largest mean %.3f, average mean %.3f, smallest PSNR %.1f dB", s.Runs, s.Max, s.Mean, s.AvgMean, s.MinPSNR)
}
