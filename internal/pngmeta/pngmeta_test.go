package pngmeta

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testImage(t *testing.T) []byte {
	pix := make([]uint8, 5*3*3)
	for i := range pix {
		pix[i] = uint8(i * 7)
	}
	img, err := RGB8(pix, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	p := Parameters{Prompt: "a cat, (red hair:1.2)", Negative: "blurry", Steps: 20, Sampler: "euler", Schedule: "karras",
		CFG: 7.5, Seed: 4294967301, Width: 5, Height: 3, Model: "tiny-sd1"}
	b, err := Encode(img, [2]string{Keyword, p.String()}, [2]string{"unicode", "東京 café"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := testImage(t)
	// The pixels still decode with image/png (which checks every CRC).
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, bl, a := img.At(1, 0).RGBA(); r>>8 != 21 || g>>8 != 28 || bl>>8 != 35 || a>>8 != 255 {
		t.Errorf("pixel (1,0) = %d %d %d %d", r>>8, g>>8, bl>>8, a>>8)
	}
	text, err := ReadText(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := "a cat, (red hair:1.2)\nNegative prompt: blurry\nSteps: 20, Sampler: euler, Schedule type: karras, CFG scale: 7.5, Seed: 4294967301, Size: 5x3, Model: tiny-sd1"
	if text[Keyword] != want {
		t.Errorf("parameters = %q\nwant %q", text[Keyword], want)
	}
	if text["unicode"] != "東京 café" {
		t.Errorf("iTXt round trip: %q", text["unicode"])
	}
	// The text chunk sits right after IHDR (offset 8 + 25).
	if string(b[33+4:33+8]) != "tEXt" {
		t.Errorf("chunk after IHDR is %q", b[37:41])
	}
}

func TestCRCChecked(t *testing.T) {
	b := testImage(t)
	b[33+8+2] ^= 1 // flip a bit inside the tEXt data
	if _, err := ReadText(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "CRC") {
		t.Errorf("corrupted chunk: err %v", err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.png")
	if err := WriteFile(p, []byte("one"), false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), false); !errors.Is(err, ErrExists) {
		t.Errorf("second write without overwrite: %v", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "one" {
		t.Errorf("content %q after refused overwrite", got)
	}
	if err := WriteFile(p, []byte("three"), true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "three" {
		t.Errorf("content %q after overwrite", got)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.png"), []byte("x"), false); err == nil {
		t.Error("missing folder: no error")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

func TestParametersNoNegative(t *testing.T) {
	s := Parameters{Prompt: "x", Steps: 1, Sampler: "euler", Schedule: "normal", CFG: 1, Seed: 0, Width: 8, Height: 8, Model: "m", ClipSkip: 2}.String()
	if s != "x\nSteps: 1, Sampler: euler, Schedule type: normal, CFG scale: 1, Seed: 0, Size: 8x8, Model: m, Clip skip: 2" {
		t.Errorf("%q", s)
	}
}
