// Command fluxfiles writes random-weight files of the real Flux.1 shapes
// (package fluxfiles) for memory and speed measurements from mapped files:
//
//	go run ./internal/fluxfiles/cmd/fluxfiles -dir /work/scratch -variant schnell -dtype f8 -t5 f8
//
// writes flux1-schnell-f8.safetensors (11.9 GB; bf16: 23.8 GB) and
// t5xxl-f8.safetensors (4.9 GB). Delete them when done.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/godiffusion/godiffusion/internal/fluxfiles"
	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/safetensors"
)

var dtypes = map[string]safetensors.DType{"f8": safetensors.F8E4M3, "bf16": safetensors.BF16, "f16": safetensors.F16, "f32": safetensors.F32}

func main() {
	dir := flag.String("dir", "", "folder to write into (outside the repository)")
	variant := flag.String("variant", "schnell", "transformer: dev or schnell; none to skip it")
	dt := flag.String("dtype", "f8", "transformer matrices: f8, bf16, f16 or f32")
	t5dt := flag.String("t5", "none", "also write T5-XXL in this dtype (f8, bf16, f16, f32), or none")
	flag.Parse()
	if err := run(*dir, *variant, *dt, *t5dt); err != nil {
		fmt.Fprintln(os.Stderr, "fluxfiles:", err)
		os.Exit(2)
	}
}

func run(dir, variant, dt, t5dt string) error {
	if dir == "" {
		return fmt.Errorf("-dir: give the folder to write into")
	}
	if variant != "none" {
		cfg := fluxnet.SchnellConfig()
		switch variant {
		case "dev":
			cfg = fluxnet.DevConfig()
		case "schnell":
		default:
			return fmt.Errorf("-variant %q: dev, schnell or none", variant)
		}
		d, ok := dtypes[dt]
		if !ok {
			return fmt.Errorf("-dtype %q: f8, bf16, f16 or f32", dt)
		}
		path := filepath.Join(dir, fmt.Sprintf("flux1-%s-%s.safetensors", variant, dt))
		if err := fluxfiles.Write(path, fluxfiles.Transformer(cfg), d, 1); err != nil {
			return err
		}
		fmt.Println(path)
	}
	if t5dt != "none" {
		d, ok := dtypes[t5dt]
		if !ok {
			return fmt.Errorf("-t5 %q: f8, bf16, f16, f32 or none", t5dt)
		}
		path := filepath.Join(dir, fmt.Sprintf("t5xxl-%s.safetensors", t5dt))
		if err := fluxfiles.Write(path, fluxfiles.T5(t5.XXL()), d, 2); err != nil {
			return err
		}
		fmt.Println(path)
	}
	return nil
}
