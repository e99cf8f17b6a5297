package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
)

// TestGoldenFiles opens every fixture written by the reference (Python
// safetensors), converts every tensor, checks that Open (mmap) and Parse
// (in memory) agree, and that Write reproduces the file byte for byte
// (possible when the file has at most one metadata entry: the reference
// writes several in hash-map order).
func TestGoldenFiles(t *testing.T) {
	root := golden.Shared(t, ".")
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".safetensors") {
			paths = append(paths, p)
		}
		return nil
	})
	if testing.Short() && len(paths) > 12 {
		paths = paths[:12] // sorted walk: a spread of flux/ and sd1/ files
	}
	dtypes := map[safetensors.DType]int{}
	identical := 0
	for _, p := range paths {
		f, err := safetensors.Open(p)
		if err != nil {
			t.Errorf("Open: %v", err)
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		g, err := safetensors.Parse(raw)
		if err != nil {
			t.Errorf("Parse(%s): %v", p, err)
			f.Close()
			continue
		}
		if !reflect.DeepEqual(f.Names(), g.Names()) || len(f.Metadata) != len(g.Metadata) {
			t.Errorf("%s: Open and Parse disagree", p)
		}
		var ts []safetensors.Tensor
		for _, tn := range f.Tensors() {
			dtypes[tn.DType]++
			v, err := tn.Float32()
			if err != nil || len(v) != tn.NumElements() {
				t.Errorf("%s: %v", p, err)
			}
			if tn.DType.IsInteger() {
				if _, err := tn.Int64(); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
			u, _ := g.Tensor(tn.Name)
			if !bytes.Equal(tn.Data, u.Data) || !reflect.DeepEqual(tn.Shape, u.Shape) {
				t.Errorf("%s: tensor %q differs between Open and Parse", p, tn.Name)
			}
			ts = append(ts, *tn)
		}
		if len(f.Metadata) <= 1 {
			out, err := safetensors.Marshal(ts, f.Metadata)
			if err != nil {
				t.Errorf("%s: Marshal: %v", p, err)
			} else if !bytes.Equal(out, raw) {
				t.Errorf("%s: re-written file differs from the reference writer's (%d vs %d bytes)", p, len(out), len(raw))
			} else {
				identical++
			}
		}
		f.Close()
	}
	t.Logf("%d files, %d re-written byte-identical; dtypes seen: %v", len(paths), identical, dtypes)
}

// TestGoldenFP16CheckpointIsRoundedFP32: the sd1 fp16 single-file checkpoint
// is every floating tensor of the fp32 one .half()-rounded (README §1.2), so
// each F16 value must be exactly F32ToF16 of the F32 value, and
// position_ids stays I64 = 0..76.
func TestGoldenFP16CheckpointIsRoundedFP32(t *testing.T) {
	f32 := golden.Open(t, "sd1/tiny-sd1.safetensors")
	f16 := golden.Open(t, "sd1/tiny-sd1-fp16.safetensors")
	if !reflect.DeepEqual(f32.Names(), f16.Names()) {
		t.Fatalf("the checkpoints hold different tensors: %d vs %d", len(f32.Names()), len(f16.Names()))
	}
	const posIDs = "cond_stage_model.transformer.text_model.embeddings.position_ids"
	var maxRel float64
	var count int
	for _, name := range f32.Names() {
		a, _ := f32.Tensor(name)
		b, _ := f16.Tensor(name)
		if !reflect.DeepEqual(a.Shape, b.Shape) {
			t.Errorf("%s: shape %v vs %v", name, a.Shape, b.Shape)
			continue
		}
		if a.DType == safetensors.I64 {
			if b.DType != safetensors.I64 || !bytes.Equal(a.Data, b.Data) {
				t.Errorf("%s: integer tensor changed in the fp16 file", name)
			}
			continue
		}
		if a.DType != safetensors.F32 || b.DType != safetensors.F16 {
			t.Errorf("%s: dtypes %s / %s, want F32 / F16", name, a.DType, b.DType)
			continue
		}
		va, _ := a.Float32()
		vb, _ := b.Float32()
		for i := range va {
			if h := binary.LittleEndian.Uint16(b.Data[2*i:]); safetensors.F32ToF16(va[i]) != h {
				t.Fatalf("%s[%d]: fp32 %g rounds to %#04x, fp16 file holds %#04x", name, i, va[i], safetensors.F32ToF16(va[i]), h)
			}
			if va[i] != 0 && math.Abs(float64(va[i])) > 6.1e-5 { // normal binary16 range
				maxRel = math.Max(maxRel, math.Abs(float64(vb[i]-va[i])/float64(va[i])))
			}
			count++
		}
	}
	if maxRel > 1.0/2048 {
		t.Errorf("max relative fp16 rounding error %g exceeds 2^-11", maxRel)
	}
	t.Logf("%d values: fp16 == round(fp32) exactly; max relative difference %.3g (bound 2^-11 = %.3g)", count, maxRel, 1.0/2048)

	for _, f := range []*safetensors.File{f32, f16} {
		ids, shape, err := f.Int64(posIDs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(shape, []int{1, 77}) {
			t.Errorf("%s: position_ids shape %v, want [1 77]", f.Path, shape)
		}
		for i, v := range ids {
			if v != int64(i) {
				t.Fatalf("%s: position_ids[%d] = %d, want %d", f.Path, i, v, i)
			}
		}
	}
}

// TestGoldenU8Image: in vae.safetensors an encoder input image is stored
// both as U8 NHWC and as F32 NCHW = 2·(u8/255) − 1 (README §5).
func TestGoldenU8Image(t *testing.T) {
	f := golden.Open(t, "sd1/vae.safetensors")
	u8, ushape, err := f.Int64("enc_32x48_taps.image_uint8")
	if err != nil {
		t.Fatal(err)
	}
	img, ishape := golden.Float32(t, f, "enc_32x48_taps.image")
	if tn, _ := f.Tensor("enc_32x48_taps.image_uint8"); tn.DType != safetensors.U8 {
		t.Fatalf("dtype %s, want U8", tn.DType)
	}
	h, w, c := ushape[1], ushape[2], ushape[3]
	if !reflect.DeepEqual(ishape, []int{1, c, h, w}) {
		t.Fatalf("shapes %v (NHWC) and %v (NCHW) disagree", ushape, ishape)
	}
	want := make([]float32, len(img))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				want[(ch*h+y)*w+x] = 2*(float32(u8[(y*w+x)*c+ch])/255) - 1
			}
		}
	}
	golden.AssertClose(t, "2·(u8/255)−1 vs stored image", img, want, 1e-6, 0)
}

// TestGoldenF64: rng.safetensors holds F64 tensors; Float32 must round each
// float64 (decoded here independently with encoding/binary.Read).
func TestGoldenF64(t *testing.T) {
	f := golden.Open(t, "sd1/rng.safetensors")
	var names []string
	for _, n := range f.Names() {
		if tn, _ := f.Tensor(n); tn.DType == safetensors.F64 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Fatal("no F64 tensors in rng.safetensors")
	}
	sort.Strings(names)
	for _, n := range names {
		tn, _ := f.Tensor(n)
		want := make([]float64, tn.NumElements())
		if err := binary.Read(bytes.NewReader(tn.Data), binary.LittleEndian, want); err != nil {
			t.Fatal(err)
		}
		got, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != float32(want[i]) || math.IsNaN(want[i]) || math.Abs(want[i]) > 10 {
				t.Fatalf("%s[%d] = %g, want float32(%g) (a standard normal sample)", n, i, got[i], want[i])
			}
		}
	}
}
