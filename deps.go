//go:build tools

// Package godiffusion pins the module's chosen dependencies in go.mod even
// where no non-test package imports them yet: cpuid (kernel dispatch), avo
// (the generator of asm/*_amd64.s), gonum (reference results in tests) and
// testify. The "tools" build tag keeps this file out of every build.
package godiffusion

import (
	_ "github.com/klauspost/cpuid/v2"
	_ "github.com/mmcloughlin/avo/build"
	_ "github.com/stretchr/testify/require"
	_ "gonum.org/v1/gonum/blas/blas32"
)
