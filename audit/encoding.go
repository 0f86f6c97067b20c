package audit

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/mydentalpractice/tenancy"
)

// EncodingVersion is the version of the canonical encoding that new events
// use. [Verify] refuses events of any other version.
const EncodingVersion = 1

// encodingMagic opens every version 1 encoding, so a hash can never be
// mistaken for one over other data.
const encodingMagic = "tenancy/audit/v1"

// Encode returns the canonical encoding of e that [Event.Sum] hashes:
// version 1 is a sequence of fields, each a 4-byte big-endian length
// followed by that many bytes, in this fixed order:
//
//  1. the text "tenancy/audit/v1"
//  2. Tenant: a key, or empty for the platform chain
//  3. Seq: 8 bytes, big-endian
//  4. ID: a key (16 bytes: events have UUIDs)
//  5. OccurredAt: 8 bytes, big-endian Unix microseconds
//  6. ActorKind: its text form, such as "member"
//  7. Actor: a key, or empty
//  8. Grant: a key (a UUID's 16 bytes), or empty
//  9. Impersonator: a key, or empty
//
// A key is encoded as the 16 bytes of a UUID (a key in canonical UUID form),
// and as its canonical text otherwise (bigint and text keys,
// [tenancy.KeyType]), with a NUL byte appended when that text is exactly 16
// bytes long: no key contains NUL, so a 16-byte field is always a UUID's
// and no two keys encode alike.
//  10. Action, 11. ResourceType, 12. ResourceID, 13. Outcome (text
//     form), 14. Reason, 15. RequestID: their UTF-8 bytes
//  16. PrevHash: 32 bytes
//
// Hash is not encoded. Lengths make the encoding unambiguous: no choice
// of field values produces the encoding of another event, so no edit can
// keep the hash. The encoding does not depend on Go, JSON or map order;
// any language can recompute it from a row of audit.events. Encode is
// safe for concurrent use and never fails; it encodes e.Version's rules
// only when that is 1 (or 0, meaning 1), which is the only version.
func (e Event) Encode() []byte {
	head, tail := e.encodeAround()
	b := binary.BigEndian.AppendUint64(head, uint64(e.Seq))
	b = append(b, tail...)
	return append(b, e.PrevHash[:]...)
}

// encodeAround returns the canonical encoding of e without the two values
// that only the chain's head gives: head is every byte before Seq's 8
// bytes (fields 1 and 2, and Seq's length), tail every byte between Seq
// and PrevHash's 32 bytes (fields 4 to 15, and PrevHash's length). The
// encoding is head, Seq, tail, PrevHash: [Record]'s statement computes
// the hash in the database from head and tail when it locks the head.
func (e Event) encodeAround() (head, tail []byte) {
	head = make([]byte, 0, 128+len(e.Reason)+len(e.ResourceID)+len(encodingMagic))
	head = appendField(head, []byte(encodingMagic))
	head = appendKey(head, e.Tenant)
	head = binary.BigEndian.AppendUint32(head, 8)
	n := len(head)
	// tail shares head's array: appends to head after this point would
	// overwrite it, and there are none.
	t := head[n:]
	t = appendKey(t, e.ID)
	t = appendField(t, binary.BigEndian.AppendUint64(nil, uint64(e.OccurredAt.UnixMicro())))
	t = appendField(t, []byte(e.ActorKind.String()))
	t = appendKey(t, e.Actor)
	t = appendKey(t, e.Grant)
	t = appendKey(t, e.Impersonator)
	t = appendField(t, []byte(e.Action))
	t = appendField(t, []byte(e.ResourceType))
	t = appendField(t, []byte(e.ResourceID))
	t = appendField(t, []byte(e.Outcome.String()))
	t = appendField(t, []byte(e.Reason))
	t = appendField(t, []byte(e.RequestID))
	t = binary.BigEndian.AppendUint32(t, uint32(len(e.PrevHash)))
	return head[:n:n], t
}

// Sum returns SHA-256 of e's canonical encoding ([Event.Encode]): the value
// [Record] stores as e.Hash and the next event's PrevHash. It is safe for
// concurrent use.
func (e Event) Sum() Hash { return sha256.Sum256(e.Encode()) }

// appendField appends p to b as one field of a canonical encoding: a
// 4-byte big-endian length and the bytes.
func appendField(b, p []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return append(b, p...)
}

// appendKey appends the key v to b as one field, by the rule of
// [Event.Encode]: a UUID's 16 bytes, or the key's text (empty for the zero
// ID) with a NUL appended when it is exactly 16 bytes long. Checkpoints
// and receipts encode their tenants with it too.
func appendKey(b []byte, v tenancy.ID) []byte {
	if u, ok := v.UUID(); ok {
		return appendField(b, u[:])
	}
	text := []byte(v.String())
	if len(text) == 16 {
		// 16 bytes would read as a UUID's: a NUL, which no key holds,
		// keeps the two apart.
		text = append(text, 0)
	}
	return appendField(b, text)
}

// appendUint64 appends v as one field of 8 big-endian bytes.
func appendUint64(b []byte, v uint64) []byte {
	return appendField(b, binary.BigEndian.AppendUint64(nil, v))
}
