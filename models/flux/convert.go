package flux

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/safetensors"
)

// DefaultMaxShard is the largest weight file Convert writes for the
// transformer and T5 before it shards them: 10 GB, diffusers'
// save_pretrained default (FLUX.1-dev's transformer/ has three shards).
const DefaultMaxShard = 10_000_000_000

// ErrOutput is wrapped by Convert's errors about the output folder: it
// exists (without Overwrite), its parent folder is missing or cannot be
// written, or it would replace one of the input files.
var ErrOutput = errors.New("output folder")

// ErrClipTokenizer is wrapped by Convert's errors about the CLIP tokenizer
// folder (ConvertOptions.TokenizerDir).
var ErrClipTokenizer = errors.New("CLIP tokenizer")

// ErrWriting is wrapped by Convert's errors while writing the folder (after
// every input was checked): a full disk, a failing device.
var ErrWriting = errors.New("writing the folder")

// ConvertOptions are Convert's inputs besides the transformer file.
type ConvertOptions struct {
	// The parts the transformer file does not hold, as for Load: VAE,
	// ClipL (with TextHeads, the head count a stand-alone CLIP file cannot
	// tell), T5XXL, T5Tokenizer (spiece.model, tokenizer.json, or a folder
	// with one: see t5.FindTokenizer) and TokenizerDir (the CLIP
	// tokenizer: a folder with vocab.json and merges.txt).
	pipeline.Options
	// Overwrite replaces an existing output folder.
	Overwrite bool
	// MaxShard is the shard size for the transformer and T5 in bytes
	// (0: DefaultMaxShard).
	MaxShard int64
	// Log, when set, receives one line per component written.
	Log func(string)
}

// ConvertResult says what Convert wrote.
type ConvertResult struct {
	Variant string   // detect.FluxDev or detect.FluxSchnell
	Bytes   int64    // tensor bytes written
	Skipped []string // transformer tensors with no diffusers name (e.g. ComfyUI's "scaled_fp8" marker), not copied
}

// Convert writes the Flux.1 model in the single file model (BFL's
// flux1-dev.safetensors, or a ComfyUI file with the transformer under
// model.diffusion_model., possibly all-in-one) and the parts in opts as a
// diffusers FluxPipeline folder dst:
//
//	model_index.json                 FluxPipeline and its components
//	scheduler/scheduler_config.json  FlowMatchEulerDiscreteScheduler as FLUX.1-dev / -schnell ship it
//	transformer/                     FluxTransformer2DModel: config.json, diffusion_pytorch_model[-0000i-of-0000n].safetensors (+ index)
//	vae/                             AutoencoderKL: config.json, diffusion_pytorch_model.safetensors
//	text_encoder/                    CLIPTextModel (CLIP-L): config.json, model.safetensors
//	text_encoder_2/                  T5EncoderModel: config.json, model[-0000i-of-0000n].safetensors (+ index)
//	tokenizer/                       CLIP BPE: vocab.json, merges.txt, tokenizer_config.json
//	tokenizer_2/                     T5: spiece.model or tokenizer.json, tokenizer_config.json
//
// Names are converted by fluxnet.DiffusersTensors, vae.Names.DiffusersTensor
// and a prefix change for the text encoders (which already use Hugging
// Face names); every tensor keeps its stored dtype and bytes (fp8 with
// ComfyUI's scale_weight included, which godiffusion reads back but
// diffusers does not know). Each part is opened first, exactly as Load
// opens it, so a missing or unfitting part is an error wrapping
// pipeline.ErrVAE, ErrClipL, ErrT5 or ErrT5Tokenizer before anything is
// written. The tensors are streamed from the mapped input files one
// output file at a time (one tensor, the final adaLN projection, is
// copied to swap its halves), so memory stays far below the model's size.
// The folder is written as dst's sibling dst.tmp-* and renamed to dst
// when complete: dst is either the whole folder or untouched.
func Convert(model, dst string, opts ConvertOptions) (*ConvertResult, error) {
	info, err := detect.Path(model)
	if err != nil {
		return nil, err
	}
	if info.Family != detect.Flux {
		return nil, fmt.Errorf("%s: a %s model, not Flux (%s); only Flux converts", model, info.Family, info.Reason)
	}
	if info.Layout == detect.Diffusers {
		return nil, fmt.Errorf("%s is already a diffusers folder", model)
	}
	src, err := openSources(model, opts)
	if err != nil {
		return nil, err
	}
	if err := checkDestination(dst, opts.Overwrite, src.paths()); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutput, err)
	}
	res := &ConvertResult{Variant: info.Variant}
	w := &folderWriter{dir: tmp, maxShard: opts.MaxShard, log: opts.Log, res: res}
	if w.maxShard == 0 {
		w.maxShard = DefaultMaxShard
	}
	if err := w.write(src); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := replaceFolder(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return res, nil
}

// sources are the checked inputs of a conversion.
type sources struct {
	model, prefix string // the transformer file and its key prefix ("" or fluxnet.ComfyPrefix)
	net           fluxnet.Config
	vaePath       string
	vae           vae.Config
	t5            t5Part
	t5Config      t5.Config
	t5Tokenizer   string // spiece.model or tokenizer.json
	clip          clipPart
	clipConfig    clip.Config
	clipTokenizer string // folder with vocab.json and merges.txt
}

// paths are the input files and folders (which an overwritten output must
// not contain).
func (s *sources) paths() []string {
	return []string{s.model, s.vaePath, s.t5.path, s.t5Tokenizer, s.clip.path, s.clipTokenizer}
}

// openSources finds every part as Load does, opens each once to read its
// configuration and check that it fits the transformer, and closes it.
func openSources(model string, opts ConvertOptions) (*sources, error) {
	f, err := safetensors.Open(model)
	if err != nil {
		return nil, err
	}
	names := f.Names()
	f.Close()
	s := &sources{model: model}
	switch {
	case slices.Contains(names, "img_in.weight"):
	case slices.Contains(names, fluxnet.ComfyPrefix+"img_in.weight"):
		s.prefix = fluxnet.ComfyPrefix
	default:
		return nil, fmt.Errorf("%s: no BFL-named Flux transformer (img_in.weight or %simg_in.weight)", model, fluxnet.ComfyPrefix)
	}
	net, err := fluxnet.Load(model)
	if err != nil {
		return nil, err
	}
	s.net = net.Config
	net.Close()

	if s.vaePath, err = vaeSource(model, false, names, opts.Options); err != nil {
		return nil, err
	}
	v, err := vae.Load(s.vaePath, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrVAE, err)
	}
	s.vae = v.Config
	v.Close()
	if err := checkVAE(s.vae, s.net); err != nil {
		return nil, err
	}

	if s.t5, err = t5Source(model, false, names, opts.Options); err != nil {
		return nil, err
	}
	enc, err := s.t5.open()
	if err != nil {
		return nil, err
	}
	s.t5Config = enc.Config
	enc.Close()
	if err := checkT5(s.t5Config, s.t5.path, s.net); err != nil {
		return nil, err
	}
	if s.t5Tokenizer, err = t5.FindTokenizer(opts.T5Tokenizer, model, s.t5.path); err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrT5Tokenizer, err)
	}
	if _, err := t5.LoadTokenizer(s.t5Tokenizer); err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrT5Tokenizer, err)
	}

	if s.clip, err = clipSource(model, false, names, opts.Options); err != nil {
		return nil, err
	}
	cm, err := s.clip.open()
	if err != nil {
		return nil, err
	}
	s.clipConfig = cm.Config
	cm.Close()
	if err := checkClip(s.clipConfig, s.net); err != nil {
		return nil, err
	}
	s.clipTokenizer = opts.TokenizerDir
	for _, n := range clipTokenizerFiles {
		if st, err := os.Stat(filepath.Join(s.clipTokenizer, n)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%w %q: no %s (a diffusers folder needs vocab.json and merges.txt)", ErrClipTokenizer, s.clipTokenizer, n)
		}
	}
	if _, err := clip.LoadTokenizer(s.clipTokenizer); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClipTokenizer, err)
	}
	return s, nil
}

// clipTokenizerFiles are the files of a Hugging Face CLIPTokenizer.
var clipTokenizerFiles = []string{"vocab.json", "merges.txt"}

// checkDestination refuses an existing dst without overwrite, a dst whose
// parent is not a folder, and a dst that holds one of the inputs.
func checkDestination(dst string, overwrite bool, inputs []string) error {
	parent := filepath.Dir(dst)
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: %s: the folder %s does not exist", ErrOutput, dst, parent)
	}
	if _, err := os.Lstat(dst); err == nil {
		if !overwrite {
			return fmt.Errorf("%w: %s exists (use --overwrite to replace it)", ErrOutput, dst)
		}
		abs, err := filepath.Abs(dst)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrOutput, err)
		}
		for _, in := range inputs {
			a, err := filepath.Abs(in)
			if err == nil && (a == abs || strings.HasPrefix(a, abs+string(filepath.Separator))) {
				return fmt.Errorf("%w: %s holds the input %s; write the folder elsewhere", ErrOutput, dst, in)
			}
		}
	}
	return nil
}

// replaceFolder renames the finished folder tmp to dst, moving an existing
// dst aside first and deleting it only once tmp is in place.
func replaceFolder(tmp, dst string) error {
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		old = tmp + "-old"
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("%w: %w", ErrOutput, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
