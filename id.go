package tenancy

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// ID identifies a tenant (a clinic), and is also used for subjects, grants
// and records. It is a UUID (RFC 9562) held as 16 bytes, so it is comparable
// and can be used as a map key.
//
// The zero ID (all zero bytes) is never a valid identifier: [ParseID] rejects
// it, [ID.MarshalText] refuses it, and [Require] treats a principal whose
// tenant is zero as having no tenant.
type ID [16]byte

// ParseID parses the canonical 36-character textual form of a UUID,
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", with hexadecimal digits in either
// case. Every other form (braces, "urn:uuid:", no hyphens, surrounding
// space) and the all-zero UUID are rejected with an error wrapping
// [ErrInvalidID]. The error does not echo the input, which may be hostile or
// sensitive.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 36 {
		return ID{}, fmt.Errorf("%w: want 36 characters, got %d", ErrInvalidID, len(s))
	}
	j := 0
	for i := 0; i < 36; {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return ID{}, fmt.Errorf("%w: want '-' at offset %d", ErrInvalidID, i)
			}
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return ID{}, fmt.Errorf("%w: not a hexadecimal digit near offset %d", ErrInvalidID, i)
		}
		id[j] = hi<<4 | lo
		j++
		i += 2
	}
	if id.IsZero() {
		return ID{}, fmt.Errorf("%w: the zero UUID is not an identifier", ErrInvalidID)
	}
	return id, nil
}

// MustParseID is like [ParseID] but panics on error. It is meant for
// constants in tests and examples.
func MustParseID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// IsZero reports whether id is the zero ID, which is never valid.
func (id ID) IsZero() bool { return id == ID{} }

// String returns the canonical lower-case form. The zero ID prints as
// "00000000-0000-0000-0000-000000000000" so that it is recognisable in
// diagnostics; it still does not parse.
func (id ID) String() string {
	var buf [36]byte
	encodeHex(buf[:], id)
	return string(buf[:])
}

// AppendText implements [encoding.TextAppender]. It fails for the zero ID.
func (id ID) AppendText(b []byte) ([]byte, error) {
	if id.IsZero() {
		return b, fmt.Errorf("%w: refusing to marshal the zero ID", ErrInvalidID)
	}
	var buf [36]byte
	encodeHex(buf[:], id)
	return append(b, buf[:]...), nil
}

// MarshalText implements [encoding.TextMarshaler], and so JSON encoding as a
// string. It fails for the zero ID, so a missing tenant can never be written
// out as if it were one; use the `omitzero` JSON option for optional IDs.
func (id ID) MarshalText() ([]byte, error) { return id.AppendText(nil) }

// UnmarshalText implements [encoding.TextUnmarshaler] with the rules of
// [ParseID]. On error id is left unchanged.
func (id *ID) UnmarshalText(b []byte) error {
	parsed, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

const hexDigits = "0123456789abcdef"

func encodeHex(dst []byte, id ID) {
	j := 0
	for i, b := range id {
		switch i {
		case 4, 6, 8, 10:
			dst[j] = '-'
			j++
		}
		dst[j] = hexDigits[b>>4]
		dst[j+1] = hexDigits[b&0x0f]
		j += 2
	}
}

// NewID returns a new random version 7 UUID (RFC 9562): 48 bits of Unix
// milliseconds followed by random bits, so ids made by one process sort by
// creation time and index well, while revealing nothing about other tenants'
// volumes (no shared sequence). Within one millisecond, ids from one process
// are still strictly increasing (RFC 9562 method 3, a 12-bit counter seeded
// at random). It is safe for concurrent use and panics only if the operating
// system's random source fails, as [crypto/rand.Read] does.
func NewID() ID {
	var id ID
	ms, seq := v7clock.next()
	binary.BigEndian.PutUint64(id[:8], uint64(ms)<<16)
	id[6] = 0x70 | byte(seq>>8)&0x0f
	id[7] = byte(seq)
	_, _ = rand.Read(id[8:])
	id[8] = id[8]&0x3f | 0x80 // variant 10
	return id
}

var v7clock clock

type clock struct {
	mu     sync.Mutex
	lastMS int64
	seq    uint16 // 12 bits used
}

func (c *clock) next() (int64, uint16) {
	ms := time.Now().UnixMilli()
	c.mu.Lock()
	defer c.mu.Unlock()
	if ms <= c.lastMS {
		ms = c.lastMS
		c.seq++
		if c.seq > 0x0fff { // counter exhausted: borrow the next millisecond
			ms++
			c.seq = randSeq()
		}
	} else {
		c.seq = randSeq()
	}
	c.lastMS = ms
	return ms, c.seq
}

// randSeq seeds the counter in the lower half of its range so that it
// rarely overflows within a millisecond.
func randSeq() uint16 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint16(b[:]) & 0x07ff
}
