package tenantriver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// canonicalJSON returns one text for every JSON text that PostgreSQL's
// jsonb stores as the same value: River's args are encoded by Go at insert
// time and read back from a jsonb column at work time, which reorders
// object keys, drops white space, re-escapes strings and rewrites numbers
// (1e2 reads back as 100). Objects are written with sorted keys (the last
// of duplicate keys wins, as in jsonb), strings by writeString, and
// numbers in the normal form of
// canonicalNumber. Invalid JSON, or a text with anything after its value,
// is an error.
func canonicalJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("args: text after the JSON value")
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if err := writeCanonical(&out, v, 0); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// maxDepth bounds the nesting canonicalJSON follows (jsonb's own limit is
// far higher, but args this deep are no job's).
const maxDepth = 1000

func writeCanonical(out *bytes.Buffer, v any, depth int) error {
	if depth > maxDepth {
		return errors.New("args: nested too deeply")
	}
	switch v := v.(type) {
	case nil:
		out.WriteString("null")
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case json.Number:
		n, err := canonicalNumber(string(v))
		if err != nil {
			return err
		}
		out.WriteString(n)
	case string:
		writeString(out, v)
	case []any:
		out.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := writeCanonical(out, e, depth+1); err != nil {
				return err
			}
		}
		out.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				out.WriteByte(',')
			}
			writeString(out, k)
			out.WriteByte(':')
			if err := writeCanonical(out, v[k], depth+1); err != nil {
				return err
			}
		}
		out.WriteByte('}')
	default:
		return fmt.Errorf("args: unexpected JSON value %T", v)
	}
	return nil
}

// writeString writes s quoted: '"' and '\\' escaped, control characters
// as \u00XX, everything else as it is (the decoder has already made it
// valid UTF-8).
func writeString(out *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	out.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			out.WriteByte('\\')
			out.WriteByte(c)
		default:
			out.WriteString(`\u00`)
			out.WriteByte(hex[c>>4])
			out.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	out.WriteString(s[start:])
	out.WriteByte('"')
}

// canonicalNumber returns the normal form of a JSON number: "0" for zero,
// else an optional "-", the significant digits with no leading or
// trailing zeros, and "e" with the decimal exponent of the last digit
// ("15e-1" for 1.50, "1e2" for 100 and 1E+2). Two numbers have the same
// form exactly when they are the same decimal value.
func canonicalNumber(s string) (string, error) {
	bad := fmt.Errorf("args: malformed number")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if intPart == "" || strings.Trim(digits, "0123456789") != "" {
		return "", bad
	}
	e := int64(0)
	if exp != "" {
		v, err := strconv.ParseInt(exp, 10, 32)
		if err != nil {
			return "", bad
		}
		e = v
	}
	e -= int64(len(frac))
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", nil
	}
	trimmed := strings.TrimRight(digits, "0")
	e += int64(len(digits) - len(trimmed))
	sign := ""
	if neg {
		sign = "-"
	}
	return sign + trimmed + "e" + strconv.FormatInt(e, 10), nil
}
