package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"path/filepath"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/godiffusion/godiffusion/internal/pngmeta"
)

// The contact sheet's layout, in pixels: a title line, a band of column
// captions above the grid, a band of row captions to its left, and a gap
// around every cell. Text is golang.org/x/image's basicfont (7×13).
const (
	sheetPad   = 6
	sheetLineH = 16
	maxCaption = 32 // characters of a caption value shown (negative prompts are long)
)

// captionValue is how a swept value reads on the sheet: a negative prompt
// quoted (and cut to maxCaption), a file by its base name.
func captionValue(a sweepAxis, v string) string {
	switch a.flag {
	case "negative-prompt":
		if r := []rune(v); len(r) > maxCaption {
			v = string(r[:maxCaption-1]) + "…"
		}
		return strconv.Quote(v)
	case "clip-l":
		return filepath.Base(v)
	}
	return v
}

// caption is the text over a column or beside a row: "cfg 7", "neg \"\"".
func caption(a sweepAxis, v string) string {
	if a.flag == "" {
		return ""
	}
	return a.label + " " + captionValue(a, v)
}

// textWidth is the width of s in the sheet's font.
func textWidth(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}

// contactSheet lays the cells' images out on a grid (rows × cols axes)
// with the settings as captions and title above.
func contactSheet(cells []*sweepCell, rows, cols sweepAxis, rgbs map[*sweepCell][]uint8, title string) (*image.NRGBA, error) {
	face := basicfont.Face7x13
	w, h := cells[0].setup.f.width, cells[0].setup.f.height
	colW := w
	for _, v := range cols.values {
		colW = max(colW, textWidth(face, caption(cols, v)))
	}
	rowW := 0
	for _, v := range rows.values {
		rowW = max(rowW, textWidth(face, caption(rows, v)))
	}
	if rowW > 0 {
		rowW += sheetPad
	}
	top := 2*sheetLineH + sheetPad
	width := max(sheetPad+rowW+len(cols.values)*(colW+sheetPad), textWidth(face, title)+2*sheetPad)
	height := top + len(rows.values)*(h+sheetPad) + sheetPad
	sheet := image.NewNRGBA(image.Rect(0, 0, width, height))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	d := &font.Drawer{Dst: sheet, Src: image.NewUniform(color.Black), Face: face}
	text := func(x, y int, s string) {
		d.Dot = fixed.P(x, y)
		d.DrawString(s)
	}
	ascent := face.Metrics().Ascent.Ceil()
	text(sheetPad, sheetPad/2+ascent, title)
	for c, v := range cols.values {
		x0 := sheetPad + rowW + c*(colW+sheetPad)
		s := caption(cols, v)
		text(x0+(colW-textWidth(face, s))/2, sheetLineH+sheetPad/2+ascent, s)
	}
	for _, cell := range cells {
		img, err := pngmeta.RGB8(rgbs[cell], w, h)
		if err != nil {
			return nil, fmt.Errorf("cell %d,%d: %w", cell.row+1, cell.col+1, err)
		}
		x0 := sheetPad + rowW + cell.col*(colW+sheetPad) + (colW-w)/2
		y0 := top + cell.row*(h+sheetPad)
		draw.Draw(sheet, image.Rect(x0, y0, x0+w, y0+h), img, image.Point{}, draw.Src)
		if cell.col == 0 {
			text(sheetPad, y0+(h+ascent)/2, caption(rows, rows.values[cell.row]))
		}
	}
	return sheet, nil
}
