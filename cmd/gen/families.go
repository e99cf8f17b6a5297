package main

import (
	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/sd1"
	"github.com/godiffusion/godiffusion/models/sdxl"
)

// family is what gen needs of a model family: its loader and its defaults
// for a detected checkpoint.
type family struct {
	load     func(path string, opts pipeline.Options) (*pipeline.Pipeline, error)
	defaults func(detect.Info) pipeline.Defaults
}

// families are the model families gen runs, by detected family.
var families = map[detect.Family]family{
	detect.SD1:  {load: sd1.Load, defaults: func(detect.Info) pipeline.Defaults { return sd1.Defaults }},
	detect.SDXL: {load: sdxl.Load, defaults: func(detect.Info) pipeline.Defaults { return sdxl.Defaults }},
}
