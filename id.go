package tenancy

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// ID identifies a tenant, and also a subject, a grant or a record. It is an
// opaque key held in its canonical text form, so it is comparable, can be a
// map key, and costs nothing to send as a query argument. A key is one of
// the [KeyType]s: a UUID (RFC 9562, the default, made by [ParseID] and
// [NewID]), a bigint ([IntID], [KeyBigint].Parse) or a text key ([TextID]).
// Which type a deployment's tenant keys have is declared once, in its
// isolation model (package rls), and every entry point (token verification,
// the database pool, the SQL guard) refuses a key of another shape.
//
// The zero ID (no text) is never a valid identifier: no parser returns it,
// [ID.MarshalText] and [ID.Value] refuse it, and [Require] treats a
// principal whose tenant is zero as having no tenant.
type ID struct{ s string }

// KeyType is the type of a deployment's keys, as the database stores them.
// The zero KeyType is [KeyUUID].
type KeyType uint8

const (
	// KeyUUID keys are UUIDs (PostgreSQL uuid), in canonical lower-case
	// text, never the all-zero UUID. The default.
	KeyUUID KeyType = iota
	// KeyBigint keys are 64-bit integers (PostgreSQL bigint), in canonical
	// decimal text: an optional minus sign, no leading zeros, no plus sign
	// or space. Zero is refused: it is the usual "unset" of integer keys,
	// and sequences start at 1.
	KeyBigint
	// KeyText keys are strings (PostgreSQL text): 1 to [MaxTextKey] bytes of
	// valid UTF-8, without control or format characters (such as a
	// zero-width space), without '|' (a separator
	// of the database's principal setting), and without leading or
	// trailing white space. They are compared byte for byte.
	KeyText
)

// MaxTextKey is the longest [KeyText] key, in bytes.
const MaxTextKey = 255

var keyTypeNames = [...]string{KeyUUID: "uuid", KeyBigint: "bigint", KeyText: "text"}

// String returns "uuid", "bigint", "text", or "KeyType(n)" for an invalid
// type.
func (t KeyType) String() string {
	if int(t) < len(keyTypeNames) {
		return keyTypeNames[t]
	}
	return fmt.Sprintf("KeyType(%d)", uint8(t))
}

// Valid reports whether t is one of the defined key types.
func (t KeyType) Valid() bool { return int(t) < len(keyTypeNames) }

// ParseKeyType parses "uuid", "bigint" or "text". Other text gives an error
// wrapping [ErrInvalidKeyType].
func ParseKeyType(s string) (KeyType, error) {
	for t, name := range keyTypeNames {
		if name == s {
			return KeyType(t), nil
		}
	}
	return 0, fmt.Errorf("%w: %q is not uuid, bigint or text", ErrInvalidKeyType, s)
}

// MarshalText implements [encoding.TextMarshaler]; invalid types fail.
func (t KeyType) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidKeyType, uint8(t))
	}
	return []byte(keyTypeNames[t]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseKeyType].
func (t *KeyType) UnmarshalText(b []byte) error {
	parsed, err := ParseKeyType(string(b))
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

// Parse parses s as a key of type t: a UUID in the form [ParseID] reads, a
// bigint in canonical decimal, or a text key, each as documented on the
// type's constant. Anything else (and the zero UUID, the bigint 0, the
// empty string) fails with an error wrapping [ErrInvalidID] that does not
// echo the input, which may be hostile or sensitive.
func (t KeyType) Parse(s string) (ID, error) {
	switch t {
	case KeyUUID:
		return ParseID(s)
	case KeyBigint:
		if !validBigint(s) {
			return ID{}, fmt.Errorf("%w: not a bigint key in canonical decimal (no sign but '-', no leading zeros, not 0)", ErrInvalidID)
		}
		return ID{s}, nil
	case KeyText:
		if err := checkText(s); err != nil {
			return ID{}, err
		}
		return ID{s}, nil
	}
	return ID{}, fmt.Errorf("%w: %w: %d", ErrInvalidID, ErrInvalidKeyType, uint8(t))
}

// Check reports whether id is a valid key of type t, in canonical form: nil,
// or an error wrapping [ErrInvalidID]. The zero ID is never valid. Entry
// points that know the deployment's key type (the database pool, token
// verification) call it on every key they accept.
func (t KeyType) Check(id ID) error {
	if id.IsZero() {
		return fmt.Errorf("%w: the zero ID", ErrInvalidID)
	}
	ok := false
	switch t {
	case KeyUUID:
		ok = validUUID(id.s)
	case KeyBigint:
		ok = validBigint(id.s)
	case KeyText:
		ok = checkText(id.s) == nil
	}
	if !ok {
		return fmt.Errorf("%w: not a %s key", ErrInvalidID, t)
	}
	return nil
}

// ParseID parses the canonical 36-character textual form of a UUID,
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", with hexadecimal digits in either
// case; the ID holds it in lower case. Every other form (braces,
// "urn:uuid:", no hyphens, surrounding space) and the all-zero UUID are
// rejected with an error wrapping [ErrInvalidID]. The error does not echo
// the input, which may be hostile or sensitive.
func ParseID(s string) (ID, error) {
	b, err := parseUUID(s)
	if err != nil {
		return ID{}, err
	}
	return FromUUID(b), nil
}

func parseUUID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) != 36 {
		return id, fmt.Errorf("%w: want 36 characters, got %d", ErrInvalidID, len(s))
	}
	j := 0
	for i := 0; i < 36; {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return [16]byte{}, fmt.Errorf("%w: want '-' at offset %d", ErrInvalidID, i)
			}
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return [16]byte{}, fmt.Errorf("%w: not a hexadecimal digit near offset %d", ErrInvalidID, i)
		}
		id[j] = hi<<4 | lo
		j++
		i += 2
	}
	if id == [16]byte{} {
		return id, fmt.Errorf("%w: the zero UUID is not an identifier", ErrInvalidID)
	}
	return id, nil
}

// validUUID reports whether s is a canonical lower-case, non-zero UUID.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	zero := true
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
			continue
		}
		switch {
		case c == '0':
		case '1' <= c && c <= '9', 'a' <= c && c <= 'f':
			zero = false
		default:
			return false
		}
	}
	return !zero
}

// validBigint reports whether s is the canonical decimal of a non-zero
// int64.
func validBigint(s string) bool {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if d == "" || d[0] < '1' || d[0] > '9' {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// checkText reports whether s is a valid [KeyText] key.
func checkText(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: an empty text key", ErrInvalidID)
	case len(s) > MaxTextKey:
		return fmt.Errorf("%w: a text key of %d bytes (at most %d)", ErrInvalidID, len(s), MaxTextKey)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: a text key that is not valid UTF-8", ErrInvalidID)
	}
	for _, r := range s {
		// Format characters (zero-width spaces, bidirectional marks) would
		// let two keys look alike in logs and screens.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '|' {
			return fmt.Errorf("%w: a text key with a control or format character, or '|'", ErrInvalidID)
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Errorf("%w: a text key with leading or trailing space", ErrInvalidID)
	}
	return nil
}

// validKey reports whether s is a valid key of some type.
func validKey(s string) bool {
	return validUUID(s) || validBigint(s) || checkText(s) == nil
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

// FromUUID returns the ID of the UUID b, or the zero ID when b is all
// zeros.
func FromUUID(b [16]byte) ID {
	if b == [16]byte{} {
		return ID{}
	}
	var buf [36]byte
	encodeHex(buf[:], b)
	return ID{string(buf[:])}
}

// IntID returns the [KeyBigint] ID of n, or the zero ID when n is 0.
func IntID(n int64) ID {
	if n == 0 {
		return ID{}
	}
	return ID{strconv.FormatInt(n, 10)}
}

// TextID returns the [KeyText] ID s, or an error wrapping [ErrInvalidID]
// when s is not a valid text key; it is [KeyText].Parse.
func TextID(s string) (ID, error) { return KeyText.Parse(s) }

// UUID returns the 16 bytes of id and true when id is a UUID, else false.
func (id ID) UUID() ([16]byte, bool) {
	if !validUUID(id.s) {
		return [16]byte{}, false
	}
	b, err := parseUUID(id.s)
	return b, err == nil
}

// Int64 returns id as an integer and true when id is a bigint key, else
// false.
func (id ID) Int64() (int64, bool) {
	if !validBigint(id.s) {
		return 0, false
	}
	n, err := strconv.ParseInt(id.s, 10, 64)
	return n, err == nil
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

// Equal reports whether id and other are the same key; it is id == other,
// there for comparison libraries (such as go-cmp) that do not look inside
// the type.
func (id ID) Equal(other ID) bool { return id == other }

// IsZero reports whether id is the zero ID, which is never valid.
func (id ID) IsZero() bool { return id.s == "" }

// String returns the canonical text of id (a UUID in lower case), or "" for
// the zero ID.
func (id ID) String() string { return id.s }

// AppendText implements [encoding.TextAppender]. It fails for the zero ID.
func (id ID) AppendText(b []byte) ([]byte, error) {
	if id.IsZero() {
		return b, fmt.Errorf("%w: refusing to marshal the zero ID", ErrInvalidID)
	}
	return append(b, id.s...), nil
}

// MarshalText implements [encoding.TextMarshaler], and so JSON encoding as a
// string (bigint keys too, as tokens carry them). It fails for the zero ID,
// so a missing tenant can never be written out as if it were one; use the
// `omitzero` JSON option for optional IDs.
func (id ID) MarshalText() ([]byte, error) { return id.AppendText(nil) }

// UnmarshalText implements [encoding.TextUnmarshaler] with the rules of
// [ParseID]: it reads UUIDs, the default key type, so that a request body
// naming a record by anything else is refused at decoding. Read keys of
// other types with [KeyType.Parse]. On error id is left unchanged.
func (id *ID) UnmarshalText(b []byte) error {
	parsed, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

const hexDigits = "0123456789abcdef"

func encodeHex(dst []byte, id [16]byte) {
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
	var id [16]byte
	ms, seq := v7clock.next()
	binary.BigEndian.PutUint64(id[:8], uint64(ms)<<16)
	id[6] = 0x70 | byte(seq>>8)&0x0f
	id[7] = byte(seq)
	_, _ = rand.Read(id[8:])
	id[8] = id[8]&0x3f | 0x80 // variant 10
	return FromUUID(id)
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
