package tenantarchive

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/mydentalpractice/tenancy/audit"
)

// ErasureFormat is the value of [Erasure.Format]: what the document is.
const ErasureFormat = "tenancy-tenant-erasure"

// ErasureVersion is the erasure record's format version,
// [Erasure.Version]. A reader refuses any other.
const ErasureVersion = 1

// The classes of [ErasedRelation.Class].
const (
	// ClassErased is a tenant relation whose rows of the tenant were
	// deleted: its Remaining is 0.
	ClassErased = "erased"
	// ClassKept is a tenant relation kept by the retention rule (the
	// audit log under [RetainAuditChain]): its Remaining is what was kept.
	ClassKept = "kept"
)

// Erasure is the record of one tenant's erasure by [Erase], and its proof:
// for every tenant relation of the isolation model, the rows of the
// tenant that the erasure deleted (over all its runs, read from the
// tenant's audit chain) and the rows that remain, counted in one snapshot
// after the last delete; the rule the audit chain was kept by; and the
// chain's head, the erasure's own event, which carries the record's
// digest. Its JSON form ([Erasure.Marshal]) is the document the platform
// keeps. An Erasure is a plain value; it is not safe for concurrent
// modification.
type Erasure struct {
	// Format is [ErasureFormat]; Version is [ErasureVersion].
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Tenant is the tenant's key, as text; KeyType its type.
	Tenant  string `json:"tenant"`
	KeyType string `json:"key_type"`
	// Reason is the reason the erasure was given ([EraseConfig.Reason]).
	Reason string `json:"reason"`
	// Retention is the rule the audit chain was kept by.
	Retention Retention `json:"retention"`
	// BatchSize is the number of rows each delete took at most.
	BatchSize int `json:"batch_size"`
	// ErasedAt is when the sealing transaction (the erasure event and the
	// registry row's removal) began (UTC, microseconds).
	ErasedAt time.Time `json:"erased_at"`
	// Relations lists every tenant relation of the model, in name order.
	Relations []ErasedRelation `json:"relations"`
	// Registry is the registry of tenants (rls.Table.ListsTenants),
	// "schema.name", whose row of the tenant the erasure removed, in the
	// transaction that appended the erasure's event; empty when the model
	// has none.
	Registry string `json:"registry"`
	// Checked says rls.CheckExport found no tenant data outside the
	// model's tenant relations before anything was deleted (Erase refuses
	// otherwise): always true in a record Erase made.
	Checked bool `json:"checked"`
	// Digest is the lower-case hex SHA-256 of [Erasure.Encode]: the fields
	// above. It is the ResourceID of the erasure's event in the tenant's
	// chain ([ActionErased]), so the chain, which the platform keeps, holds
	// the record's digest.
	Digest string `json:"digest"`
	// AuditHead is the head of the tenant's chain after the erasure: its
	// own [ActionErased] event. A later event in the chain means something
	// wrote for the tenant after it was erased ([VerifyErasure]).
	AuditHead *Head `json:"audit_head"`
	// KeyID and Signature, when the record was signed, are the key's id
	// (audit.KeyID) and the standard base64 Ed25519 signature of the
	// encoding followed by the audit head ([Erasure.Signed]).
	KeyID     string `json:"key_id,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// ErasedRelation is one tenant relation in an [Erasure].
type ErasedRelation struct {
	// Name is the relation, "schema.name", unquoted.
	Name string `json:"name"`
	// Class is [ClassErased] or [ClassKept].
	Class string `json:"class"`
	// Deleted is the number of the tenant's rows the erasure deleted from
	// it, over all of its runs.
	Deleted int64 `json:"deleted"`
	// Remaining is the number of the tenant's rows left: 0 for an erased
	// relation; for a kept one, its rows before the erasure's own event.
	Remaining int64 `json:"remaining"`
}

// Encode returns the bytes that [Erasure.Digest] covers, version 1: each
// field as a 4-byte big-endian length and its bytes (numbers as 8-byte
// big-endian), in this order: the text "tenancy/tenantarchive/erasure/v1",
// format, version, tenant, key type, reason, retention, batch size, erased
// at (Unix microseconds), the number of relations, and per relation its
// name, class, deleted and remaining, then the registry and checked (1
// byte). The digest, the audit head and the signature are not in it.
func (e *Erasure) Encode() []byte {
	var b bytes.Buffer
	field := func(s string) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(s)))
		b.WriteString(s)
	}
	num := func(n int64) {
		_ = binary.Write(&b, binary.BigEndian, uint32(8))
		_ = binary.Write(&b, binary.BigEndian, n)
	}
	field("tenancy/tenantarchive/erasure/v1")
	field(e.Format)
	num(int64(e.Version))
	field(e.Tenant)
	field(e.KeyType)
	field(e.Reason)
	field(string(e.Retention))
	num(int64(e.BatchSize))
	num(e.ErasedAt.UnixMicro())
	num(int64(len(e.Relations)))
	for _, r := range e.Relations {
		field(r.Name)
		field(r.Class)
		num(r.Deleted)
		num(r.Remaining)
	}
	field(e.Registry)
	if e.Checked {
		field("\x01")
	} else {
		field("\x00")
	}
	return b.Bytes()
}

// Signed returns the bytes the signature covers: [Erasure.Encode], then
// the audit head's seq (8 bytes) and hash (its text), each
// length-prefixed; with no head, a zero-length field.
func (e *Erasure) Signed() []byte {
	b := e.Encode()
	if e.AuditHead == nil {
		return binary.BigEndian.AppendUint32(b, 0)
	}
	b = binary.BigEndian.AppendUint32(b, 8)
	b = binary.BigEndian.AppendUint64(b, uint64(e.AuditHead.Seq))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.AuditHead.Hash)))
	return append(b, e.AuditHead.Hash...)
}

func (e *Erasure) digest() string {
	sum := sha256.Sum256(e.Encode())
	return hex.EncodeToString(sum[:])
}

// sign sets e's KeyID and Signature with key; a nil key leaves e unsigned.
func (e *Erasure) sign(key ed25519.PrivateKey) {
	e.KeyID, e.Signature = "", ""
	if key != nil {
		e.KeyID = audit.KeyID(key.Public().(ed25519.PublicKey))
		e.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, e.Signed()))
	}
}

// Verify checks e's signature with pub: an error wrapping [ErrSignature]
// when e is unsigned, signed with another key, or its signature does not
// cover its fields and audit head.
func (e *Erasure) Verify(pub ed25519.PublicKey) error {
	if e.Signature == "" {
		return fmt.Errorf("%w: the erasure record is not signed", ErrSignature)
	}
	if len(pub) != ed25519.PublicKeySize || e.KeyID != audit.KeyID(pub) {
		return fmt.Errorf("%w: signed with another key", ErrSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signature)
	if err != nil || !ed25519.Verify(pub, e.Signed(), sig) {
		return fmt.Errorf("%w: the signature does not cover the erasure record", ErrSignature)
	}
	return nil
}

// Relation returns the entry of relation name ("schema.name").
func (e *Erasure) Relation(name string) (ErasedRelation, bool) {
	i := slices.IndexFunc(e.Relations, func(r ErasedRelation) bool { return r.Name == name })
	if i < 0 {
		return ErasedRelation{}, false
	}
	return e.Relations[i], true
}

// Marshal returns e's JSON form: two-space indent, a trailing newline.
func (e *Erasure) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseErasure reads an erasure record's JSON form and checks it: the
// format and version, no unknown field, a time, the relations (at least
// one), their classes and counts (an erased relation with rows remaining
// is no proof), and the digest. It returns an error wrapping [ErrErasure] for a malformed
// record and [ErrTampered] for one whose digest does not match its
// fields. It does not check the signature ([Erasure.Verify]) or the
// chain ([VerifyErasure]).
func ParseErasure(b []byte) (*Erasure, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Erasure
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: not an erasure record's JSON", ErrErasure)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the record", ErrErasure)
	}
	bad := func(format string, args ...any) (*Erasure, error) {
		return nil, fmt.Errorf("%w: %s", ErrErasure, fmt.Sprintf(format, args...))
	}
	switch {
	case e.Format != ErasureFormat:
		return bad("not an erasure record")
	case e.Version != ErasureVersion:
		return bad("format version %d, want %d", e.Version, ErasureVersion)
	case e.Tenant == "" || e.KeyType == "":
		return bad("no tenant")
	case e.Retention != RetainAuditChain:
		return bad("unknown retention rule")
	case e.ErasedAt.IsZero():
		return bad("no erasure time")
	case len(e.Relations) == 0:
		return bad("no relations: no proof")
	case !hexHash.MatchString(e.Digest):
		return bad("no digest")
	case e.AuditHead != nil && (e.AuditHead.Seq < 1 || !hexHash.MatchString(e.AuditHead.Hash)):
		return bad("malformed audit head")
	case (e.KeyID == "") != (e.Signature == ""):
		return bad("a key id without a signature, or the reverse")
	}
	for i, r := range e.Relations {
		switch {
		case r.Class != ClassErased && r.Class != ClassKept:
			return bad("relation %d: unknown class", i+1)
		case r.Deleted < 0 || r.Remaining < 0:
			return bad("relation %d: negative counts", i+1)
		case r.Class == ClassErased && r.Remaining != 0:
			return bad("relation %d: erased, with rows remaining", i+1)
		}
	}
	if e.digest() != e.Digest {
		return nil, fmt.Errorf("%w: the erasure record's digest does not match its fields", ErrTampered)
	}
	return &e, nil
}
