package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// CheckpointVersion is the version of the checkpoint's canonical encoding
// ([Checkpoint.Encode]) and of its JSON form ([Checkpoint.Marshal]).
const CheckpointVersion = 1

const (
	checkpointMagic = "tenancy/audit/checkpoint/v1"
	// timeLayout is the one text form of checkpoint and receipt times:
	// UTC, to the microsecond, always six digits.
	timeLayout = "2006-01-02T15:04:05.000000Z"
)

// Checkpoint is a signed statement of every chain's head at one moment:
// the platform chain's and, for every tenant of the registry (and every
// tenant with a chain head), the seq and hash of its last event. Kept
// outside the database and signed with a key the database never sees,
// it lets [VerifyCheckpoint] prove later that no chain was truncated,
// rewritten or deleted since, even by someone who can rewrite the audit
// tables and recompute every hash.
//
// [ReadCheckpoint] makes one from the database; [Checkpoint.Sign] signs
// it; [Checkpoint.Marshal] and [ParseCheckpoint] write and read its JSON
// form. A Checkpoint is a value; do not change one while another goroutine
// reads it.
type Checkpoint struct {
	// Time is when the heads were read: the database's transaction
	// start, in UTC, to the microsecond.
	Time time.Time
	// Registry is the tenant registry read ("schema.table.column").
	Registry string
	// KeyType is the type of the tenant keys.
	KeyType tenancy.KeyType
	// Platform is the platform chain's head.
	Platform Head
	// Tenants holds each tenant's head in increasing byte order of the
	// tenant key's text, without duplicates; seq 0 (and the zero hash)
	// for a tenant of the registry without a chain.
	Tenants []TenantHead

	// KeyID names the signing key ([KeyID] of its public key); set by
	// Sign.
	KeyID string
	// Signature is the Ed25519 signature of [Checkpoint.Encode]; set by
	// Sign.
	Signature []byte
}

// TenantHead is one tenant's chain head in a [Checkpoint].
type TenantHead struct {
	Tenant tenancy.ID
	Head   Head
}

// KeyID returns the id of an Ed25519 public key as checkpoints and
// receipts name it: the lower-case hex of the first 8 bytes of SHA-256 of
// the key's 32 bytes (16 characters). It is safe for concurrent use.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// HeadOf returns the checkpointed head of tenant (zero: the platform
// chain) and whether the checkpoint lists it.
func (cp Checkpoint) HeadOf(tenant tenancy.ID) (Head, bool) {
	if tenant.IsZero() {
		return cp.Platform, true
	}
	i, ok := slices.BinarySearchFunc(cp.Tenants, tenant.String(), func(t TenantHead, s string) int {
		return strings.Compare(t.Tenant.String(), s)
	})
	if !ok {
		return Head{}, false
	}
	return cp.Tenants[i].Head, true
}

// Encode returns the canonical encoding that [Checkpoint.Sign] signs.
// Version 1 is a sequence of fields, each a 4-byte big-endian length and
// that many bytes, as in [Event.Encode], in this order:
//
//  1. the text "tenancy/audit/checkpoint/v1"
//  2. KeyID: its text
//  3. Time: 8 bytes, big-endian Unix microseconds
//  4. Registry: its text ("schema.table.column")
//  5. KeyType: its text ("uuid", "bigint" or "text")
//  6. Platform.Seq: 8 bytes, big-endian; 7. Platform.Hash: 32 bytes
//  8. the number of tenants: 8 bytes, big-endian
//
// then, for each tenant in order, its key (encoded as [Event.Encode]
// encodes keys: a UUID's 16 bytes, or its text, with a NUL appended when
// that text is 16 bytes long), its seq (8 bytes) and its hash (32 bytes).
// Signature is not encoded. It is safe for concurrent use and never fails.
func (cp Checkpoint) Encode() []byte {
	b := make([]byte, 0, 256+len(cp.Tenants)*64)
	b = appendField(b, []byte(checkpointMagic))
	b = appendField(b, []byte(cp.KeyID))
	b = appendUint64(b, uint64(cp.Time.UnixMicro()))
	b = appendField(b, []byte(cp.Registry))
	b = appendField(b, []byte(cp.KeyType.String()))
	b = appendUint64(b, uint64(cp.Platform.Seq))
	b = appendField(b, cp.Platform.Hash[:])
	b = appendUint64(b, uint64(len(cp.Tenants)))
	for _, t := range cp.Tenants {
		b = appendKey(b, t.Tenant)
		b = appendUint64(b, uint64(t.Head.Seq))
		b = appendField(b, t.Head.Hash[:])
	}
	return b
}

// Sign checks cp and signs it with key: it sets KeyID to [KeyID] of
// key's public key, then Signature. It fails, leaving cp unchanged, with
// an error wrapping [ErrMalformed] when cp breaks the documented form
// (unsorted or duplicate tenants, keys not of KeyType, a negative seq, a
// malformed registry, a zero time), or when key is not an Ed25519 private
// key.
func (cp *Checkpoint) Sign(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: signing key: not an Ed25519 private key", ErrMalformed)
	}
	c := *cp
	c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	if err := c.check(); err != nil {
		return err
	}
	c.Signature = ed25519.Sign(key, c.Encode())
	*cp = c
	return nil
}

// Verify reports whether cp is signed by pub: nil, or an error wrapping
// [ErrBadSignature] (another key's id, or a signature that does not match
// the content). It does not look at the database; see
// [VerifyCheckpoint]. It is safe for concurrent use.
func (cp Checkpoint) Verify(pub ed25519.PublicKey) error {
	return verifySignature(pub, cp.KeyID, cp.Signature, cp.Encode)
}

func verifySignature(pub ed25519.PublicKey, keyID string, sig []byte, encode func() []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: the public key is not an Ed25519 key", ErrBadSignature)
	}
	if want := KeyID(pub); keyID != want {
		return fmt.Errorf("%w: signed by key %q, not by key %s", ErrBadSignature, truncate(keyID, 16), want)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, encode(), sig) {
		return fmt.Errorf("%w: the signature does not match the content (key %s)", ErrBadSignature, keyID)
	}
	return nil
}

// check reports whether cp keeps the documented form.
func (cp Checkpoint) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: checkpoint: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if cp.Time.IsZero() {
		return bad("no time")
	}
	if _, err := ParseRegistry(cp.Registry); err != nil {
		return bad("registry: %v", err)
	}
	if !cp.KeyType.Valid() {
		return bad("key type %v is invalid", cp.KeyType)
	}
	if !validKeyID(cp.KeyID) {
		return bad("key id must be 16 lower-case hexadecimal digits")
	}
	if cp.Platform.Seq < 0 {
		return bad("platform head: negative seq")
	}
	for i, t := range cp.Tenants {
		if err := cp.KeyType.Check(t.Tenant); err != nil {
			return bad("tenant %d: %v", i+1, err)
		}
		if t.Head.Seq < 0 {
			return bad("tenant %d: negative seq", i+1)
		}
		if i > 0 && cp.Tenants[i-1].Tenant.String() >= t.Tenant.String() {
			return bad("tenant %d: tenants must be in increasing byte order of their keys, without duplicates", i+1)
		}
	}
	return nil
}

func validKeyID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// The JSON form of checkpoints.
type (
	checkpointJSON struct {
		Version   int              `json:"version"`
		Time      string           `json:"time"`
		Registry  string           `json:"registry"`
		KeyType   string           `json:"key_type"`
		Platform  headJSON         `json:"platform"`
		Tenants   []tenantHeadJSON `json:"tenants"`
		KeyID     string           `json:"key_id"`
		Signature string           `json:"signature"`
	}
	headJSON struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	}
	tenantHeadJSON struct {
		Tenant string `json:"tenant"`
		Seq    int64  `json:"seq"`
		Hash   string `json:"hash"`
	}
)

// Marshal returns cp's JSON form, which [ParseCheckpoint] reads:
//
//	{
//	  "version": 1,
//	  "time": "2025-03-01T12:00:00.000000Z",
//	  "registry": "public.clinics.id",
//	  "key_type": "uuid",
//	  "platform": {"seq": 12, "hash": "<64 hex digits>"},
//	  "tenants": [{"tenant": "<key>", "seq": 3, "hash": "<64 hex digits>"}, ...],
//	  "key_id": "<16 hex digits>",
//	  "signature": "<standard base64 of 64 bytes>"
//	}
//
// indented by two spaces (objects of heads on their own lines), the fields
// in this order, ending with a newline. The JSON only carries the signed
// content: [Checkpoint.Encode], not the JSON, is what the signature covers.
// It fails with [ErrUnsigned] for a checkpoint without a signature, or
// wrapping [ErrMalformed] as [Checkpoint.Sign] does.
func (cp Checkpoint) Marshal() ([]byte, error) {
	if len(cp.Signature) == 0 {
		return nil, fmt.Errorf("marshalling a checkpoint: %w", ErrUnsigned)
	}
	if err := cp.check(); err != nil {
		return nil, err
	}
	return cp.marshal()
}

func (cp Checkpoint) marshal() ([]byte, error) {
	v := checkpointJSON{
		Version:   CheckpointVersion,
		Time:      cp.Time.UTC().Format(timeLayout),
		Registry:  cp.Registry,
		KeyType:   cp.KeyType.String(),
		Platform:  headJSON{Seq: cp.Platform.Seq, Hash: cp.Platform.Hash.String()},
		Tenants:   make([]tenantHeadJSON, len(cp.Tenants)),
		KeyID:     cp.KeyID,
		Signature: base64.StdEncoding.EncodeToString(cp.Signature),
	}
	for i, t := range cp.Tenants {
		v.Tenants[i] = tenantHeadJSON{Tenant: t.Tenant.String(), Seq: t.Head.Seq, Hash: t.Head.Hash.String()}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("audit: marshalling a checkpoint: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseCheckpoint reads a checkpoint in exactly the form
// [Checkpoint.Marshal] writes, and refuses anything else with an error
// wrapping [ErrMalformed] that says what is wrong: invalid JSON, unknown,
// missing or duplicate fields, another version, a time not in the form
// "2006-01-02T15:04:05.000000Z", a malformed registry, key type, key or
// hash, tenants out of order, a signature that is not 64 bytes, or other
// white space or field order than Marshal's. It does not verify the
// signature: call [Checkpoint.Verify] or [VerifyCheckpoint]. It is safe
// for concurrent use.
func ParseCheckpoint(b []byte) (Checkpoint, error) {
	bad := func(format string, args ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	var v checkpointJSON
	if err := decodeStrict(b, &v); err != nil {
		return bad("%v", err)
	}
	if v.Version != CheckpointVersion {
		return bad("version %d is not %d", v.Version, CheckpointVersion)
	}
	cp := Checkpoint{Registry: v.Registry, KeyID: v.KeyID}
	var err error
	if cp.Time, err = parseTime(v.Time); err != nil {
		return bad("%v", err)
	}
	if cp.KeyType, err = tenancy.ParseKeyType(v.KeyType); err != nil {
		return bad("key type: %v", err)
	}
	if cp.Platform, err = parseHead(v.Platform.Seq, v.Platform.Hash); err != nil {
		return bad("platform head: %v", err)
	}
	cp.Tenants = make([]TenantHead, len(v.Tenants))
	for i, t := range v.Tenants {
		id, err := cp.KeyType.Parse(t.Tenant)
		if err != nil {
			return bad("tenant %d: %v", i+1, err)
		}
		h, err := parseHead(t.Seq, t.Hash)
		if err != nil {
			return bad("tenant %d: %v", i+1, err)
		}
		cp.Tenants[i] = TenantHead{Tenant: id, Head: h}
	}
	if cp.Signature, err = parseSignature(v.Signature); err != nil {
		return bad("%v", err)
	}
	if err := cp.check(); err != nil {
		return Checkpoint{}, err
	}
	if again, err := cp.marshal(); err != nil || !bytes.Equal(again, b) {
		return bad("not in the canonical form (two-space indent, fields in order, one trailing newline)")
	}
	return cp, nil
}

// decodeStrict decodes one JSON value of b into v, refusing unknown
// fields and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON object")
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil || t.IsZero() {
		return time.Time{}, fmt.Errorf("time must be UTC in the form %s", timeLayout)
	}
	return t, nil
}

func parseHead(seq int64, hash string) (Head, error) {
	h := Head{Seq: seq}
	if seq < 0 {
		return h, fmt.Errorf("negative seq")
	}
	var err error
	h.Hash, err = parseHash(hash)
	return h, err
}

func parseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) || strings.ToLower(s) != s {
		return h, fmt.Errorf("a hash must be 64 lower-case hexadecimal digits")
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("a hash must be 64 lower-case hexadecimal digits")
	}
	return h, nil
}

func parseSignature(s string) ([]byte, error) {
	sig, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("signature must be the standard base64 of %d bytes", ed25519.SignatureSize)
	}
	return sig, nil
}

// ReadCheckpoint reads, in one REPEATABLE READ, READ ONLY transaction on
// db, the platform chain's head and the head of every tenant of cfg's
// registry ([Config.TenantRegistry]) and of every tenant with a chain
// head, and returns them as an unsigned [Checkpoint] (sign it with
// [Checkpoint.Sign]). A tenant of the registry without a chain has seq 0.
// key is the type of the tenant keys; a key of another type fails.
//
// db as for [Verify]: the platform role (or a superuser), which must also
// be able to SELECT the registry's column. It reads the heads, not the
// events: a checkpoint pins what the heads say, and [VerifyCheckpoint]
// verifies each chain against it. Reading 10,000 tenants' heads takes
// tens of milliseconds (BenchmarkReadCheckpoint). It fails with an error
// wrapping [ErrInvalidRegistry] for a missing or malformed registry, or
// with the database's error. It is safe for concurrent use.
func ReadCheckpoint(ctx context.Context, db Beginner, cfg Config, key tenancy.KeyType) (Checkpoint, error) {
	reg, err := cfg.registry()
	if err != nil {
		return Checkpoint{}, err
	}
	if !key.Valid() {
		return Checkpoint{}, fmt.Errorf("audit: reading a checkpoint: %w", tenancy.ErrInvalidKeyType)
	}
	cp := Checkpoint{Registry: reg.String(), KeyType: key}
	err = readTx(ctx, db, func(tx pgx.Tx) error {
		var hash []byte
		err := tx.QueryRow(ctx, `SELECT now(), coalesce((SELECT seq FROM audit.platform_head WHERE singleton), 0),
			(SELECT hash FROM audit.platform_head WHERE singleton)`).Scan(&cp.Time, &cp.Platform.Seq, &hash)
		if err != nil {
			return fmt.Errorf("audit: reading the platform head: %w", err)
		}
		copy(cp.Platform.Hash[:], hash)
		rows, err := tx.Query(ctx, `SELECT coalesce(r.k, h.tenant_id::text), coalesce(h.seq, 0), h.hash
			FROM (`+reg.keysSQL()+`) r FULL JOIN audit.chain_heads h ON h.tenant_id::text = r.k`)
		if err != nil {
			return fmt.Errorf("audit: reading the chain heads and the registry %s: %w", reg, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				text string
				t    TenantHead
			)
			if err := rows.Scan(&text, &t.Head.Seq, &hash); err != nil {
				return fmt.Errorf("audit: reading the chain heads: %w", err)
			}
			if t.Tenant, err = key.Parse(text); err != nil {
				return fmt.Errorf("audit: reading the chain heads and the registry %s: %w", reg, err)
			}
			t.Head.Hash = Hash{}
			copy(t.Head.Hash[:], hash)
			cp.Tenants = append(cp.Tenants, t)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("audit: reading the chain heads and the registry %s: %w", reg, err)
		}
		return nil
	})
	if err != nil {
		return Checkpoint{}, err
	}
	cp.Time = cp.Time.UTC().Truncate(time.Microsecond)
	slices.SortFunc(cp.Tenants, func(a, b TenantHead) int { return strings.Compare(a.Tenant.String(), b.Tenant.String()) })
	return cp, nil
}
