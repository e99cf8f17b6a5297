// Package families is the table of the model families godiffusion runs:
// for a detected checkpoint, the loader that puts it into the shared
// pipeline and the family's default settings. Command lines and servers
// look families up here instead of switching on them.
package families

import (
	"fmt"

	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/flux"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/sd1"
	"github.com/godiffusion/godiffusion/models/sdxl"
)

// Family is what a caller needs of a model family.
type Family struct {
	// Load reads a checkpoint of the family into a pipeline.
	Load func(path string, opts pipeline.Options) (*pipeline.Pipeline, error)
	// Defaults are the settings for what a user leaves out.
	Defaults func(detect.Info) pipeline.Defaults
}

var table = map[detect.Family]Family{
	detect.SD1:  {Load: sd1.Load, Defaults: func(detect.Info) pipeline.Defaults { return sd1.Defaults }},
	detect.SDXL: {Load: sdxl.Load, Defaults: func(detect.Info) pipeline.Defaults { return sdxl.Defaults }},
	detect.Flux: {Load: flux.Load, Defaults: func(i detect.Info) pipeline.Defaults { return flux.Defaults(i.Variant) }},
}

// Lookup returns the family of a detected checkpoint, or an error naming
// an unsupported one.
func Lookup(info detect.Info) (Family, error) {
	if f, ok := table[info.Family]; ok {
		return f, nil
	}
	return Family{}, fmt.Errorf("%s models are not supported (sd1, sdxl and flux are)", info.Family)
}
