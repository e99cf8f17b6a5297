package hub

// This file is data: the models `gen -m NAME` knows, each with the exact
// repository files its family needs and its model card's recommended
// settings. Revisions are branches ("main"); the commit each resolved to is
// recorded in the cache's refs/ on the first download, and later runs use
// that commit without asking the Hub (gen pull asks again). Sizes are
// approximate, as the Hub's file listings show them; the exact sizes come
// from the Hub at download time and are what the free-space check uses.
//
// Roles (what the file is for in gen):
//
//	model         the checkpoint: one .safetensors file, or a diffusers folder
//	tokenizer     CLIP BPE tokenizer folder (vocab.json + merges.txt)
//	vae           Flux autoencoder (ae.safetensors)
//	clip_l        Flux CLIP-L text encoder
//	t5xxl         Flux T5-XXL text encoder (fp8 e4m3fn: half of fp16's size)
//	t5_tokenizer  T5 SentencePiece tokenizer folder (spiece.model, tokenizer.json)

// Role is what a registry file is for.
type Role string

// The roles gen reads (see the table above).
const (
	RoleModel       Role = "model"
	RoleTokenizer   Role = "tokenizer"
	RoleVAE         Role = "vae"
	RoleClipL       Role = "clip_l"
	RoleT5XXL       Role = "t5xxl"
	RoleT5Tokenizer Role = "t5_tokenizer"
)

// Part is one role of a registry entry: files of one repository revision.
// When Dir is set the role names the folder holding Files (a tokenizer),
// else the single file Files[0].
type Part struct {
	Role     Role
	Repo     string
	Revision string
	Files    []string
	Dir      bool
	Size     int64 // approximate bytes of Files
}

// Settings are a model card's recommended generation settings; zero values
// are settings the card does not give.
type Settings struct {
	Steps     int
	CFG       float64 // classifier-free guidance scale (1: no unconditional pass)
	Guidance  float64 // Flux's distilled guidance (FLUX.1-dev); 0 for the others
	Sampler   string  // ComfyUI sampler name
	Scheduler string  // ComfyUI scheduler name
	Width     int
	Height    int
	Negative  string // recommended negative prompt
	Source    string // where the card says so
}

// Model is one registry entry.
type Model struct {
	Name        string
	Description string
	Family      string // sd1, sdxl or flux
	Gated       bool   // needs HF_TOKEN and an accepted licence
	Parts       []Part
	Recommended Settings
}

// Size is the approximate download size of every part.
func (m *Model) Size() int64 {
	var n int64
	for _, p := range m.Parts {
		n += p.Size
	}
	return n
}

// Part returns the part of role r, or nil.
func (m *Model) Part(r Role) *Part {
	for i := range m.Parts {
		if m.Parts[i].Role == r {
			return &m.Parts[i]
		}
	}
	return nil
}

// clipTokenizer is the CLIP tokenizer folder of a diffusers repository.
func clipTokenizer(repo string) Part {
	return Part{Role: RoleTokenizer, Repo: repo, Revision: "main", Files: []string{"tokenizer/vocab.json", "tokenizer/merges.txt"}, Dir: true, Size: 1_590_000}
}

// fluxParts are the files every FLUX.1 model needs besides its transformer:
// the autoencoder and the tokenizers from repo (black-forest-labs'), and
// ComfyUI's single-file text encoders (comfyanonymous/flux_text_encoders:
// CLIP-L in fp16, T5-XXL cast to fp8 e4m3fn).
func fluxParts(repo string) []Part {
	const encoders = "comfyanonymous/flux_text_encoders"
	return []Part{
		{Role: RoleVAE, Repo: repo, Revision: "main", Files: []string{"ae.safetensors"}, Size: 335_000_000},
		{Role: RoleClipL, Repo: encoders, Revision: "main", Files: []string{"clip_l.safetensors"}, Size: 246_000_000},
		{Role: RoleT5XXL, Repo: encoders, Revision: "main", Files: []string{"t5xxl_fp8_e4m3fn.safetensors"}, Size: 4_890_000_000},
		clipTokenizer(repo),
		{Role: RoleT5Tokenizer, Repo: repo, Revision: "main", Dir: true, Size: 3_220_000,
			Files: []string{"tokenizer_2/spiece.model", "tokenizer_2/tokenizer.json", "tokenizer_2/tokenizer_config.json", "tokenizer_2/special_tokens_map.json"}},
	}
}

// Registry lists the models gen knows by name, smallest faithful variant
// first: fp16 single files, fp8 T5 for Flux.
var Registry = []Model{
	{
		Name: "sd15", Family: "sd1",
		Description: "Stable Diffusion 1.5 (fp16 EMA weights), 512x512",
		Parts: []Part{
			{Role: RoleModel, Repo: "stable-diffusion-v1-5/stable-diffusion-v1-5", Revision: "main", Files: []string{"v1-5-pruned-emaonly-fp16.safetensors"}, Size: 2_130_000_000},
			clipTokenizer("stable-diffusion-v1-5/stable-diffusion-v1-5"),
		},
		// The card's example runs StableDiffusionPipeline with its defaults.
		Recommended: Settings{Steps: 50, CFG: 7.5, Width: 512, Height: 512, Source: "diffusers StableDiffusionPipeline defaults used by the card's example"},
	},
	{
		Name: "sdxl", Family: "sdxl",
		Description: "Stable Diffusion XL base 1.0 (fp16), 1024x1024",
		Parts: []Part{
			{Role: RoleModel, Repo: "stabilityai/stable-diffusion-xl-base-1.0", Revision: "main", Files: []string{"sd_xl_base_1.0.safetensors"}, Size: 6_940_000_000},
			clipTokenizer("stabilityai/stable-diffusion-xl-base-1.0"),
		},
		Recommended: Settings{Steps: 50, CFG: 5, Width: 1024, Height: 1024, Source: "diffusers StableDiffusionXLPipeline defaults used by the card's example"},
	},
	{
		Name: "sdxl-turbo", Family: "sdxl",
		Description: "SDXL-Turbo (fp16): one step, no guidance, 512x512",
		Parts: []Part{
			{Role: RoleModel, Repo: "stabilityai/sdxl-turbo", Revision: "main", Files: []string{"sd_xl_turbo_1.0_fp16.safetensors"}, Size: 6_940_000_000},
			clipTokenizer("stabilityai/sdxl-turbo"),
		},
		// guidance_scale=0.0 in diffusers disables guidance: cfg 1 here. The
		// repository's scheduler is Euler ancestral with "trailing" spacing,
		// which sgm_uniform matches.
		Recommended: Settings{Steps: 1, CFG: 1, Sampler: "euler_ancestral", Scheduler: "sgm_uniform", Width: 512, Height: 512, Source: "model card: num_inference_steps=1, guidance_scale=0.0, 512x512"},
	},
	{
		Name: "animagine-xl-3.1", Family: "sdxl",
		Description: "Animagine XL 3.1, anime SDXL fine-tune (fp16)",
		Parts: []Part{
			{Role: RoleModel, Repo: "cagliostrolab/animagine-xl-3.1", Revision: "main", Files: []string{"animagine-xl-3.1.safetensors"}, Size: 6_940_000_000},
			clipTokenizer("cagliostrolab/animagine-xl-3.1"),
		},
		Recommended: Settings{Steps: 28, CFG: 7, Sampler: "euler_ancestral", Width: 832, Height: 1216,
			Negative: "nsfw, lowres, (bad), text, error, fewer, extra, missing, worst quality, jpeg artifacts, low quality, watermark, unfinished, displeasing, oldest, early, chromatic aberration, signature, extra digits, artistic error, username, scan, [abstract]",
			Source:   "model card: CFG 5-7, under 30 steps (28), Euler Ancestral, 832x1216, and its negative prompt"},
	},
	{
		Name: "flux1-schnell", Family: "flux",
		Description: "FLUX.1 [schnell] (bf16), 4 steps, no guidance; Apache-2.0",
		Parts: append([]Part{
			{Role: RoleModel, Repo: "black-forest-labs/FLUX.1-schnell", Revision: "main", Files: []string{"flux1-schnell.safetensors"}, Size: 23_800_000_000},
		}, fluxParts("black-forest-labs/FLUX.1-schnell")...),
		Recommended: Settings{Steps: 4, CFG: 1, Width: 1024, Height: 1024, Source: "model card: num_inference_steps=4, guidance_scale=0.0"},
	},
	{
		Name: "flux1-dev", Family: "flux", Gated: true,
		Description: "FLUX.1 [dev] (bf16), guidance-distilled; gated, non-commercial licence",
		Parts: append([]Part{
			{Role: RoleModel, Repo: "black-forest-labs/FLUX.1-dev", Revision: "main", Files: []string{"flux1-dev.safetensors"}, Size: 23_800_000_000},
		}, fluxParts("black-forest-labs/FLUX.1-dev")...),
		Recommended: Settings{Steps: 50, CFG: 1, Guidance: 3.5, Width: 1024, Height: 1024, Source: "model card: num_inference_steps=50, guidance_scale=3.5, 1024x1024"},
	},
}

// Lookup returns the registry entry called name, or nil.
func Lookup(name string) *Model {
	for i := range Registry {
		if Registry[i].Name == name {
			return &Registry[i]
		}
	}
	return nil
}
