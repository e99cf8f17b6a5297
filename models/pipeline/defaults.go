package pipeline

// Defaults are a family's settings for what a user leaves out: the
// sampling settings its model card recommends (or ComfyUI's defaults) and
// its native image size.
type Defaults struct {
	Steps         int
	CFG           float64
	Guidance      float64 // distilled guidance (0: the model has no guidance input)
	Sampler       string
	Scheduler     string
	Width, Height int
	// SizeMultiple is what image sides must be multiples of (8 for the
	// UNets, 16 for Flux's 2×2 latent patches).
	SizeMultiple int
}
