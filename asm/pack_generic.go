package asm

// packPanelGeneric is PackPanel in plain Go: row by row, scattering each
// row's kc values into the panel with stride tile.
func packPanelGeneric(dst, src []float32, ld, rows, kc, tile int) {
	dst = dst[:kc*tile]
	for i := 0; i < rows; i++ {
		row := src[i*ld : i*ld+kc]
		for p, v := range row {
			dst[p*tile+i] = v
		}
	}
	if rows < tile {
		for p := 0; p < kc; p++ {
			clear(dst[p*tile+rows : (p+1)*tile])
		}
	}
}
