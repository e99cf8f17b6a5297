package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// decodeHeader walks the header JSON token by token, so that it can reject
// what encoding/json would silently accept: duplicate keys, fields matched
// case-insensitively, null where an array is required, non-integer numbers.
func decodeHeader(hdr []byte) ([]entry, map[string]string, *FormatError) {
	d := &headerDecoder{dec: json.NewDecoder(bytes.NewReader(hdr))}
	d.dec.UseNumber()
	tok, err := d.dec.Token()
	if err == io.EOF {
		return nil, nil, &FormatError{Msg: "header is empty, expected a JSON object"}
	}
	if err != nil {
		return nil, nil, d.syntax(err)
	}
	if tok != json.Delim('{') {
		return nil, nil, &FormatError{Msg: "header is not a JSON object (it starts with " + describe(tok) + ")"}
	}
	var entries []entry
	var md map[string]string
	seen := map[string]bool{}
	for d.dec.More() {
		key, ferr := d.key()
		if ferr != nil {
			return nil, nil, ferr
		}
		if seen[key] {
			if key == "__metadata__" {
				return nil, nil, &FormatError{Msg: `"__metadata__" appears twice in the header`}
			}
			return nil, nil, &FormatError{Tensor: key, Msg: "named twice in the header"}
		}
		seen[key] = true
		if key == "__metadata__" {
			if md, ferr = d.metadata(); ferr != nil {
				return nil, nil, ferr
			}
			continue
		}
		e, ferr := d.entry(key)
		if ferr != nil {
			return nil, nil, ferr
		}
		entries = append(entries, e)
	}
	if _, err := d.dec.Token(); err != nil { // the closing '}'
		return nil, nil, d.syntax(err)
	}
	if tok, err := d.dec.Token(); err != io.EOF {
		what := "invalid bytes"
		if err == nil {
			what = describe(tok)
		}
		return nil, nil, &FormatError{Msg: fmt.Sprintf("unexpected data (%s) after the header's JSON object at byte %d; only space padding may follow it", what, d.dec.InputOffset())}
	}
	return entries, md, nil
}

type headerDecoder struct{ dec *json.Decoder }

// syntax wraps a JSON decoding error.
func (d *headerDecoder) syntax(err error) *FormatError {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Msg: "invalid JSON header: unexpected end of the header"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &FormatError{Msg: fmt.Sprintf("invalid JSON header at byte %d: %v", se.Offset, err)}
	}
	return &FormatError{Msg: "invalid JSON header: " + err.Error()}
}

// next returns the next token, wrapping errors.
func (d *headerDecoder) next() (json.Token, *FormatError) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, d.syntax(err)
	}
	return tok, nil
}

// key reads an object key.
func (d *headerDecoder) key() (string, *FormatError) {
	tok, err := d.next()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok { // cannot happen with a valid decoder, but never trust it
		return "", &FormatError{Msg: "invalid JSON header: expected an object key, found " + describe(tok)}
	}
	return s, nil
}

// metadata reads the "__metadata__" value: null or an object of strings.
func (d *headerDecoder) metadata() (map[string]string, *FormatError) {
	bad := func(msg string) *FormatError { return &FormatError{Msg: "__metadata__ " + msg} }
	tok, err := d.next()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil // the reference accepts null as "no metadata"
	}
	if tok != json.Delim('{') {
		return nil, bad("must be an object mapping strings to strings, found " + describe(tok))
	}
	md := map[string]string{}
	for d.dec.More() {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if _, dup := md[k]; dup {
			return nil, bad(fmt.Sprintf("names key %q twice", k))
		}
		tok, err := d.next()
		if err != nil {
			return nil, err
		}
		v, ok := tok.(string)
		if !ok {
			return nil, bad(fmt.Sprintf("value of %q must be a string, found %s", k, describe(tok)))
		}
		md[k] = v
	}
	if _, err := d.next(); err != nil {
		return nil, err
	}
	return md, nil
}

// entry reads one tensor's {"dtype", "shape", "data_offsets"} object.
// Other fields are skipped, as the reference does.
func (d *headerDecoder) entry(name string) (entry, *FormatError) {
	e := entry{name: name}
	bad := func(msg string) *FormatError { return &FormatError{Tensor: name, Msg: msg} }
	tok, err := d.next()
	if err != nil {
		return e, err
	}
	if tok != json.Delim('{') {
		return e, bad("header entry must be an object with dtype, shape and data_offsets, found " + describe(tok))
	}
	seen := map[string]bool{}
	for d.dec.More() {
		k, err := d.key()
		if err != nil {
			return e, err
		}
		if seen[k] {
			return e, bad(fmt.Sprintf("field %q given twice", k))
		}
		seen[k] = true
		switch k {
		case "dtype":
			tok, err := d.next()
			if err != nil {
				return e, err
			}
			s, ok := tok.(string)
			if !ok {
				return e, bad("dtype must be a string, found " + describe(tok))
			}
			e.dtype = s
		case "shape":
			if e.shape, err = d.uints(name, "shape"); err != nil {
				return e, err
			}
		case "data_offsets":
			if e.offsets, err = d.uints(name, "data_offsets"); err != nil {
				return e, err
			}
			if len(e.offsets) != 2 {
				return e, bad(fmt.Sprintf("data_offsets must be [begin, end], found %d numbers", len(e.offsets)))
			}
		default:
			var skip json.RawMessage
			if err := d.dec.Decode(&skip); err != nil {
				return e, d.syntax(err)
			}
		}
	}
	if _, err := d.next(); err != nil {
		return e, err
	}
	for _, f := range []string{"dtype", "shape", "data_offsets"} {
		if !seen[f] {
			return e, bad(fmt.Sprintf("header entry has no %q", f))
		}
	}
	return e, nil
}

// uints reads an array of non-negative integers that fit in 64 bits.
func (d *headerDecoder) uints(name, field string) ([]uint64, *FormatError) {
	bad := func(msg string) *FormatError { return &FormatError{Tensor: name, Msg: field + " " + msg} }
	tok, err := d.next()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, bad("must be an array of non-negative integers, found " + describe(tok))
	}
	out := []uint64{}
	for d.dec.More() {
		tok, err := d.next()
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, bad("must hold non-negative integers, found " + describe(tok))
		}
		v, perr := strconv.ParseUint(string(num), 10, 64)
		if perr != nil {
			return nil, bad(fmt.Sprintf("must hold non-negative integers below 2^64, found %s", num))
		}
		out = append(out, v)
	}
	if _, err := d.next(); err != nil {
		return nil, err
	}
	return out, nil
}

// describe names a JSON token's kind for error messages.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case json.Number:
		return "number " + string(v)
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return fmt.Sprintf("string %q", v)
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", string(v))
	}
	return fmt.Sprintf("%v", tok)
}
