package t5

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file reads the few fields of SentencePiece's ModelProto
// (sentencepiece_model.proto) that encoding needs, straight from the
// protobuf wire format: a message is a sequence of (tag, value) records,
// tag = field<<3 | wire type, with wire types 0 varint, 1 fixed 64-bit,
// 2 length-delimited (strings, bytes, sub-messages), 5 fixed 32-bit.
// Unknown fields are skipped; every length is checked against what is left.

// wire is a cursor over one protobuf message.
type wire struct {
	b []byte
}

var errTruncated = errors.New("truncated protobuf")

// varint reads a base-128 varint (at most 10 bytes).
func (w *wire) varint() (uint64, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if i >= len(w.b) {
			return 0, errTruncated
		}
		c := w.b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			w.b = w.b[i+1:]
			return v, nil
		}
	}
	return 0, errors.New("varint longer than 10 bytes")
}

// next reads one record's tag and, for wire type 2, its payload; for the
// fixed and varint types it returns the value in v.
func (w *wire) next() (field int, typ int, v uint64, payload []byte, err error) {
	tag, err := w.varint()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	field, typ = int(tag>>3), int(tag&7)
	if field == 0 || tag>>3 > math.MaxInt32 {
		return 0, 0, 0, nil, fmt.Errorf("invalid field number %d", tag>>3)
	}
	switch typ {
	case 0:
		v, err = w.varint()
	case 1:
		if len(w.b) < 8 {
			return 0, 0, 0, nil, errTruncated
		}
		v, w.b = binary.LittleEndian.Uint64(w.b), w.b[8:]
	case 2:
		var n uint64
		if n, err = w.varint(); err != nil {
			return
		}
		if n > uint64(len(w.b)) {
			return 0, 0, 0, nil, fmt.Errorf("field %d: length %d exceeds the %d bytes left", field, n, len(w.b))
		}
		payload, w.b = w.b[:n], w.b[n:]
	case 5:
		if len(w.b) < 4 {
			return 0, 0, 0, nil, errTruncated
		}
		v, w.b = uint64(binary.LittleEndian.Uint32(w.b)), w.b[4:]
	default:
		return 0, 0, 0, nil, fmt.Errorf("field %d: unsupported wire type %d", field, typ)
	}
	return
}

// Piece types of ModelProto.SentencePiece.Type.
const (
	pieceNormal      = 1
	pieceUnknown     = 2
	pieceControl     = 3
	pieceUserDefined = 4
	pieceUnused      = 5
	pieceByte        = 6
)

// modelProto is what we read of a SentencePiece ModelProto.
type modelProto struct {
	pieces []Piece

	modelType                  int // TrainerSpec.model_type: 1 unigram (default), 2 BPE, 3 word, 4 char
	unkID, bosID, eosID, padID int // TrainerSpec fields 40–43
	byteFallback               bool
	treatWhitespaceAsSuffix    bool
	normName                   string
	charsmap                   []byte
	addDummyPrefix             bool
	removeExtraWhitespaces     bool
	escapeWhitespaces          bool
}

// parseModelProto decodes the ModelProto in b. Field numbers:
//
//	ModelProto:        1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
//	SentencePiece:     1 piece (string), 2 score (float), 3 type (enum, default NORMAL)
//	TrainerSpec:       3 model_type, 24 treat_whitespace_as_suffix, 35 byte_fallback,
//	                   40 unk_id (default 0), 41 bos_id (1), 42 eos_id (2), 43 pad_id (−1)
//	NormalizerSpec:    1 name, 2 precompiled_charsmap, 3 add_dummy_prefix (default true),
//	                   4 remove_extra_whitespaces (true), 5 escape_whitespaces (true)
func parseModelProto(b []byte) (*modelProto, error) {
	m := &modelProto{modelType: 1, unkID: 0, bosID: 1, eosID: 2, padID: -1,
		addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true}
	// Count the pieces first so that the slice is allocated once, at a
	// size the file really holds (each record takes at least 2 bytes).
	n := 0
	w := wire{b}
	for len(w.b) > 0 {
		f, _, _, _, err := w.next()
		if err != nil {
			return nil, err
		}
		if f == 1 {
			n++
		}
	}
	m.pieces = make([]Piece, 0, n)
	w = wire{b}
	for len(w.b) > 0 {
		f, typ, _, payload, err := w.next()
		if err != nil {
			return nil, err
		}
		switch {
		case f == 1 && typ == 2:
			p, err := parsePiece(payload)
			if err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			m.pieces = append(m.pieces, p)
		case f == 2 && typ == 2:
			if err := m.parseTrainerSpec(payload); err != nil {
				return nil, fmt.Errorf("trainer_spec: %w", err)
			}
		case f == 3 && typ == 2:
			if err := m.parseNormalizerSpec(payload); err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", err)
			}
		case f <= 3:
			return nil, fmt.Errorf("field %d has wire type %d, expected 2 (a message)", f, typ)
		}
	}
	return m, nil
}

func parsePiece(b []byte) (Piece, error) {
	p := Piece{Type: pieceNormal}
	w := wire{b}
	for len(w.b) > 0 {
		f, typ, v, payload, err := w.next()
		if err != nil {
			return p, err
		}
		switch {
		case f == 1 && typ == 2:
			p.Piece = string(payload)
		case f == 2 && typ == 5:
			p.Score = math.Float32frombits(uint32(v))
		case f == 3 && typ == 0:
			p.Type = int(int32(v))
		case f <= 3:
			return p, fmt.Errorf("field %d has unexpected wire type %d", f, typ)
		}
	}
	return p, nil
}

func (m *modelProto) parseTrainerSpec(b []byte) error {
	w := wire{b}
	for len(w.b) > 0 {
		f, typ, v, _, err := w.next()
		if err != nil {
			return err
		}
		if typ != 0 {
			continue
		}
		switch f {
		case 3:
			m.modelType = int(int32(v))
		case 24:
			m.treatWhitespaceAsSuffix = v != 0
		case 35:
			m.byteFallback = v != 0
		case 40:
			m.unkID = int(int32(v))
		case 41:
			m.bosID = int(int32(v))
		case 42:
			m.eosID = int(int32(v))
		case 43:
			m.padID = int(int32(v))
		}
	}
	return nil
}

func (m *modelProto) parseNormalizerSpec(b []byte) error {
	w := wire{b}
	for len(w.b) > 0 {
		f, typ, v, payload, err := w.next()
		if err != nil {
			return err
		}
		switch {
		case f == 1 && typ == 2:
			m.normName = string(payload)
		case f == 2 && typ == 2:
			m.charsmap = payload
		case f == 3 && typ == 0:
			m.addDummyPrefix = v != 0
		case f == 4 && typ == 0:
			m.removeExtraWhitespaces = v != 0
		case f == 5 && typ == 0:
			m.escapeWhitespaces = v != 0
		}
	}
	return nil
}
