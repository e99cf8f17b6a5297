package asm

//go:generate go run ./internal/avogen -out kernels_amd64.s -stubs kernels_decl_amd64.go -pkg asm
