//go:build purego || !(amd64 || arm64)

package asm

func supportedLevels() []string { return []string{"generic"} }

func install(name string) {}
