//go:build tools

package godiffusion

import (
	_ "github.com/klauspost/cpuid/v2"
	_ "github.com/mmcloughlin/avo/build"
	_ "github.com/stretchr/testify/require"
	_ "gonum.org/v1/gonum/blas/blas32"
)
