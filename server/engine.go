package server

import "context"

// Engine renders images. A Worker owns one Engine and calls it for one image
// at a time; the engine keeps one model loaded and reuses it across jobs.
type Engine interface {
	// Generate renders image index of spec, whose noise seed is
	// spec.Seed+index (A1111's all_seeds), and returns it as a PNG with
	// A1111's "parameters" text chunk, plus that text. init is the
	// img2img input image file (PNG or JPEG), nil for txt2img. progress,
	// when not nil, is called after every sampling step. When ctx is
	// cancelled Generate returns ctx.Err() as soon as it can (at the next
	// step).
	Generate(ctx context.Context, spec JobSpec, index int, init []byte, progress func(step, total int)) (png []byte, infotext string, err error)
}
