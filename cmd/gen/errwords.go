package main

import "strings"

// apiWords maps the Go API names that library errors use (they are
// written for programs calling the packages) to the gen flags that set
// the same thing, so a user reads "--text-heads", not "LoadOptions.Heads".
var apiWords = strings.NewReplacer(
	"pass it explicitly (LoadOptions.Heads)", "pass it with --text-heads (SD1, SDXL's CLIP-L) or --text-heads-2 (SDXL's bigG)",
	"set Options.ScalingFactor", "this is not an SD 1.x or SDXL VAE (those have 4 latent channels)",
	"Request.ReleaseUNet", "an earlier image of the batch",
)

// flagHints are phrases of library errors about a single file's inferred
// shapes, with the gen flag that overrides the inferred value.
var flagHints = []struct{ phrase, hint string }{
	{"attention heads do not divide", "for a single-file model, set the UNet's head width with --unet-head-dim"},
	{"norm_num_groups", "for a single-file model, set the GroupNorm groups with --norm-groups"},
	{"heads do not divide hidden size", "for a single-file model, set the text encoder's heads with --text-heads / --text-heads-2"},
}

// inFlagWords rewrites a library error message in the words of gen's
// command line (see apiWords and flagHints).
func inFlagWords(msg string) string {
	msg = apiWords.Replace(msg)
	for _, h := range flagHints {
		if strings.Contains(msg, h.phrase) && !strings.Contains(msg, h.hint) {
			msg += " (" + h.hint + ")"
		}
	}
	return msg
}
