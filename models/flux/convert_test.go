package flux

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// testShard is the shard size of the tests' conversions: small enough that
// the tiny transformer (2.2 MB) and T5 (0.75 MB) are written as shards
// with an index, as the real ones are.
const testShard = 512 << 10

// convertTiny converts the tiny Flux model (dev or schnell) with its
// separate parts into a FluxPipeline folder under dir and returns it.
func convertTiny(t *testing.T, dir, model string) string {
	t.Helper()
	out := filepath.Join(dir, "flux1-"+model)
	res, err := Convert(golden.Shared(t, "flux/flux1-"+model+"-tiny.safetensors"), out,
		ConvertOptions{Options: tinyOptions(t), MaxShard: testShard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Variant != model || len(res.Skipped) != 0 || res.Bytes == 0 {
		t.Errorf("%s: converted %+v", model, res)
	}
	return out
}

// TestConvertLayout checks the folder Convert writes: every component
// folder, sharded transformer and T5 with their indexes, the scheduler
// configurations of FLUX.1-dev and -schnell, and no temporary folder left.
func TestConvertLayout(t *testing.T) {
	dir := t.TempDir()
	for _, model := range []string{"dev", "schnell"} {
		out := convertTiny(t, dir, model)
		for _, f := range []string{"model_index.json", "scheduler/scheduler_config.json",
			"transformer/config.json", "transformer/diffusion_pytorch_model.safetensors.index.json",
			"transformer/diffusion_pytorch_model-00001-of-00005.safetensors",
			"vae/config.json", "vae/diffusion_pytorch_model.safetensors",
			"text_encoder/config.json", "text_encoder/model.safetensors",
			"text_encoder_2/config.json", "text_encoder_2/model.safetensors.index.json", "text_encoder_2/model-00002-of-00002.safetensors",
			"tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json",
			"tokenizer_2/spiece.model", "tokenizer_2/tokenizer_config.json"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Errorf("%s: %v", model, err)
			}
		}
		checkDiffusersNames(t, out)
		var sched map[string]any
		golden.ReadJSON(t, filepath.Join(out, "scheduler/scheduler_config.json"), &sched)
		if want := model == "dev"; sched["use_dynamic_shifting"] != want {
			t.Errorf("%s: scheduler use_dynamic_shifting %v, want %v", model, sched["use_dynamic_shifting"], want)
		}
		var tc map[string]any
		golden.ReadJSON(t, filepath.Join(out, "transformer/config.json"), &tc)
		if tc["guidance_embeds"] != (model == "dev") || tc["num_single_layers"] != 3.0 || tc["attention_head_dim"] != 32.0 {
			t.Errorf("%s: transformer config %v", model, tc)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(m) != 0 {
		t.Errorf("temporary folders left: %v", m)
	}
}

// checkDiffusersNames checks that each component of the folder out holds
// its diffusers / transformers names (and shapes where they change).
func checkDiffusersNames(t *testing.T, out string) {
	t.Helper()
	open := func(rel string) *nn.Params {
		files, err := nn.ComponentFiles(filepath.Join(out, rel), "")
		if err != nil {
			t.Fatal(err)
		}
		p, err := nn.OpenParams(files...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	for rel, want := range map[string]map[string][]int{
		"transformer": {"x_embedder.weight": {64, 64}, "norm_out.linear.weight": {128, 64},
			"single_transformer_blocks.2.proj_mlp.weight": {256, 64}, "transformer_blocks.0.attn.norm_added_k.weight": {32}},
		"vae": {"encoder.mid_block.attentions.0.to_q.weight": {32, 32}, "decoder.up_blocks.0.resnets.2.conv1.weight": {32, 32, 3, 3},
			"decoder.conv_norm_out.weight": {32}, "encoder.down_blocks.2.downsamplers.0.conv.weight": {32, 32, 3, 3}},
		"text_encoder":   {"text_model.embeddings.token_embedding.weight": {49408, 32}, "text_model.final_layer_norm.weight": {32}},
		"text_encoder_2": {"shared.weight": {1000, 64}, "encoder.final_layer_norm.weight": {64}},
	} {
		p := open(rel)
		for name, shape := range want {
			if got := p.Shape(name); fmt.Sprint(got) != fmt.Sprint(shape) {
				t.Errorf("%s: %s has shape %v, want %v", rel, name, got, shape)
			}
		}
		for _, f := range p.Files() {
			for _, n := range f.Names() {
				for _, bad := range []string{".down.", ".up.", "attn_1", "nin_shortcut", ".scale", "double_blocks", "img_in"} {
					if strings.Contains(n, bad) {
						t.Errorf("%s: %s is not a diffusers name", rel, n)
					}
				}
			}
		}
	}
}

// checkConvertedRun replays r through Load(folder) with nothing but the
// folder (its tokenizers found in it), a folder Convert made of the files
// that gave fromFile: the final latent, the decoded image and the 8-bit
// image must be bit-identical to the single-file run (the same values in
// the same order of operations), hence within the reference's tolerances
// too, which are checked again.
func checkConvertedRun(t *testing.T, folder string, r promptRun, fromFile *pipeline.Result) {
	tokDir, err := clip.FindTokenizer(folder, "")
	if err != nil || tokDir != filepath.Join(folder, "tokenizer") {
		t.Fatalf("CLIP tokenizer of the folder: %q, %v", tokDir, err)
	}
	if tok, err := t5.FindTokenizer("", folder, ""); err != nil || tok != filepath.Join(folder, "tokenizer_2", "spiece.model") {
		t.Fatalf("T5 tokenizer of the folder: %q, %v", tok, err)
	}
	fromFolder := generate(t, folder, pipeline.Options{TokenizerDir: tokDir}, r)
	assertSame(t, "latent", fromFolder.Latent, fromFile.Latent)
	assertSame(t, "image", fromFolder.Image, fromFile.Image)
	if string(fromFolder.RGB) != string(fromFile.RGB) {
		t.Error("8-bit images differ")
	}
	ref := golden.Open(t, filepath.Join("flux", r.File))
	lat, _ := golden.Float32(t, ref, "latents")
	golden.AssertClose(t, "latents", fromFolder.Latent.Data, lat, 1e-3*maxAbs(lat), 0)
	img, _ := golden.Float32(t, ref, "image")
	golden.AssertClose(t, "image", fromFolder.Image.Data, img, 1e-3*maxAbs(img), 0)
	checkU8(t, ref, fromFolder.RGB)
}

// generate loads path with opts and runs r.
func generate(t *testing.T, path string, opts pipeline.Options, r promptRun) *pipeline.Result {
	t.Helper()
	p, err := Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := p.Generate(requestFor(r))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func assertSame(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	if len(got.Data) != len(want.Data) {
		t.Fatalf("%s: %d values, the single file gives %d", what, len(got.Data), len(want.Data))
	}
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("%s: value %d is %g from the folder, %g from the single file", what, i, got.Data[i], want.Data[i])
		}
	}
}

// TestConvertErrors: an existing output without Overwrite, an output whose
// parent is not a folder, an overwrite that would delete an input, a
// missing part (each error wraps the sentinel the command line turns into
// the flag), a model that is not Flux. No folder is written, nothing is
// left behind; Overwrite replaces an existing folder.
func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	model := golden.Shared(t, "flux/flux1-schnell-tiny.safetensors")
	full := ConvertOptions{Options: tinyOptions(t)}
	existing := filepath.Join(dir, "existing")
	os.Mkdir(existing, 0o755)
	os.WriteFile(filepath.Join(existing, "old.txt"), []byte("x"), 0o644)
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	holdsInput := filepath.Join(dir, "holds-input")
	os.Mkdir(holdsInput, 0o755)
	vaeCopy := filepath.Join(holdsInput, "ae.safetensors")
	b, err := os.ReadFile(full.VAE)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(vaeCopy, b, 0o644)

	cases := []struct {
		name  string
		model string
		out   string
		edit  func(*ConvertOptions)
		want  error
		text  string
	}{
		{"existing output", model, existing, nil, ErrOutput, "--overwrite"},
		{"parent not a folder", model, filepath.Join(notDir, "out"), nil, ErrOutput, "does not exist"},
		{"overwrite deleting an input", model, holdsInput, func(o *ConvertOptions) { o.Overwrite, o.VAE = true, vaeCopy }, ErrOutput, "holds the input"},
		{"no vae", model, filepath.Join(dir, "a"), func(o *ConvertOptions) { o.VAE = "" }, pipeline.ErrVAE, "ae.safetensors"},
		{"no t5", model, filepath.Join(dir, "b"), func(o *ConvertOptions) { o.T5XXL = "" }, pipeline.ErrT5, "t5xxl"},
		{"no clip", model, filepath.Join(dir, "c"), func(o *ConvertOptions) { o.ClipL = "" }, pipeline.ErrClipL, "clip_l"},
		{"no t5 tokenizer", model, filepath.Join(dir, "d"), func(o *ConvertOptions) { o.T5Tokenizer = filepath.Join(dir, "none.model") }, pipeline.ErrT5Tokenizer, "none.model"},
		{"no clip tokenizer", model, filepath.Join(dir, "e"), func(o *ConvertOptions) { o.TokenizerDir = dir }, nil, "vocab.json"},
		{"not flux", golden.Core(t, "sd1/tiny-sd1.safetensors"), filepath.Join(dir, "f"), nil, nil, "not Flux"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := full
			if c.edit != nil {
				c.edit(&o)
			}
			_, err := Convert(c.model, c.out, o)
			if err == nil {
				t.Fatal("no error")
			}
			if c.want != nil && !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q: want it to wrap %v and mention %q", err, c.want, c.text)
			}
			t.Log(err)
		})
	}
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s written despite the error", n)
		}
	}
	if _, err := os.Stat(filepath.Join(existing, "old.txt")); err != nil {
		t.Errorf("the existing folder was touched: %v", err)
	}
	o := full
	o.Overwrite = true
	if _, err := Convert(model, existing, o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(existing, "old.txt")); err == nil {
		t.Error("overwrite kept the old folder's files")
	}
	var idx map[string]any
	golden.ReadJSON(t, filepath.Join(existing, "model_index.json"), &idx)
	if idx["_class_name"] != "FluxPipeline" {
		t.Errorf("model_index.json %v", idx)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(m) != 0 {
		t.Errorf("temporary folders left: %v", m)
	}
}

// TestConvertAllInOne converts a ComfyUI all-in-one file built from the
// tiny parts (transformer under model.diffusion_model., the autoencoder
// under vae., CLIP-L and T5 under text_encoders.*) and checks that every
// weight file of the folder is byte-identical to the one converted from
// the separate files.
func TestConvertAllInOne(t *testing.T) {
	dir := t.TempDir()
	opts := tinyOptions(t)
	var ts []safetensors.Tensor
	for _, part := range []struct{ path, prefix string }{
		{golden.Shared(t, "flux/flux1-schnell-tiny.safetensors"), fluxnet.ComfyPrefix},
		{opts.VAE, ComfyVAEPrefix},
		{opts.ClipL, strings.TrimSuffix(ComfyClipLPrefix, clip.PrefixHF)},
		{opts.T5XXL, "text_encoders.t5xxl.transformer."},
	} {
		f, err := safetensors.Open(part.path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, x := range f.Tensors() {
			c := *x
			c.Name = part.prefix + c.Name
			ts = append(ts, c)
		}
	}
	aio := filepath.Join(dir, "flux1-schnell-aio.safetensors")
	if err := safetensors.WriteFile(aio, ts, nil); err != nil {
		t.Fatal(err)
	}
	fromAIO := filepath.Join(dir, "aio")
	res, err := Convert(aio, fromAIO, ConvertOptions{Options: pipeline.Options{TextHeads: 4, T5Tokenizer: opts.T5Tokenizer, TokenizerDir: opts.TokenizerDir}, MaxShard: testShard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Variant != "schnell" || len(res.Skipped) != 0 {
		t.Errorf("converted %+v", res)
	}
	fromFiles := convertTiny(t, dir, "schnell")
	weights, _ := filepath.Glob(filepath.Join(fromFiles, "*", "*.safetensors"))
	if len(weights) < 6 {
		t.Fatalf("weight files %v", weights)
	}
	for _, w := range weights {
		rel, _ := filepath.Rel(fromFiles, w)
		a, err1 := os.ReadFile(w)
		b, err2 := os.ReadFile(filepath.Join(fromAIO, rel))
		if err1 != nil || err2 != nil || string(a) != string(b) {
			t.Errorf("%s differs between the all-in-one and the separate files (%v, %v)", rel, err1, err2)
		}
	}
}
