package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// ReceiptVersion is the version of the receipt's canonical encoding
// ([Receipt.Encode]) and of its JSON form ([Receipt.Marshal]).
const ReceiptVersion = 1

const receiptMagic = "tenancy/audit/receipt/v1"

// Receipt is a signed statement of one tenant's chain head, which the
// application hands to the tenant's owner: kept by them, it proves later
// that the chain held at least Seq events ending with Hash at Time, so
// that a truncated or rewritten chain cannot be denied to them. Compare
// it with the chain ([List] the events up to Seq, or [Verify]) after
// checking it with [Receipt.Verify]. A Receipt is a value.
type Receipt struct {
	// Tenant is the chain's tenant.
	Tenant tenancy.ID
	// Head is the chain's head: the seq and hash of its last event.
	Head Head
	// Time is when the head was read, in UTC, to the microsecond.
	Time time.Time
	// KeyID names the signing key ([KeyID]); set by Sign.
	KeyID string
	// Signature is the Ed25519 signature of [Receipt.Encode]; set by Sign.
	Signature []byte
}

// Encode returns the canonical encoding that [Receipt.Sign] signs:
// fields as in [Event.Encode] (a 4-byte big-endian length and the bytes),
// in this order: the text "tenancy/audit/receipt/v1", KeyID (text), Time
// (8 bytes, big-endian Unix microseconds), Tenant (a key, encoded as
// events encode keys), Head.Seq (8 bytes) and Head.Hash (32 bytes). It is
// safe for concurrent use and never fails.
func (r Receipt) Encode() []byte {
	b := make([]byte, 0, 160)
	b = appendField(b, []byte(receiptMagic))
	b = appendField(b, []byte(r.KeyID))
	b = appendUint64(b, uint64(r.Time.UnixMicro()))
	b = appendKey(b, r.Tenant)
	b = appendUint64(b, uint64(r.Head.Seq))
	b = appendField(b, r.Head.Hash[:])
	return b
}

// Sign sets r's KeyID and Signature with key. It fails, leaving r
// unchanged, with an error wrapping [ErrMalformed] for a receipt without
// a tenant, time or event (seq below 1), or a key that is not an Ed25519
// private key.
func (r *Receipt) Sign(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: signing key: not an Ed25519 private key", ErrMalformed)
	}
	c := *r
	c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	if err := c.check(); err != nil {
		return err
	}
	c.Signature = ed25519.Sign(key, c.Encode())
	*r = c
	return nil
}

func (r Receipt) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: receipt: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	switch {
	case tenancy.KeyText.Check(r.Tenant) != nil:
		return bad("no valid tenant")
	case r.Head.Seq < 1:
		return bad("seq must be at least 1")
	case r.Time.IsZero():
		return bad("no time")
	case !validKeyID(r.KeyID):
		return bad("key id must be 16 lower-case hexadecimal digits")
	}
	return nil
}

// Verify reports whether r is signed by pub: nil, or an error wrapping
// [ErrBadSignature]. It is safe for concurrent use.
func (r Receipt) Verify(pub ed25519.PublicKey) error {
	return verifySignature(pub, r.KeyID, r.Signature, r.Encode)
}

type receiptJSON struct {
	Version   int    `json:"version"`
	Tenant    string `json:"tenant"`
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Time      string `json:"time"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

// Marshal returns r's JSON form, one line ending in a newline:
//
//	{"version":1,"tenant":"<key>","seq":3,"hash":"<64 hex digits>","time":"2025-03-01T12:00:00.000000Z","key_id":"<16 hex digits>","signature":"<standard base64>"}
//
// It fails with [ErrUnsigned] for a receipt without a signature.
func (r Receipt) Marshal() ([]byte, error) {
	if len(r.Signature) == 0 {
		return nil, fmt.Errorf("marshalling a receipt: %w", ErrUnsigned)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r.marshal()
}

func (r Receipt) marshal() ([]byte, error) {
	b, err := json.Marshal(receiptJSON{
		Version: ReceiptVersion, Tenant: r.Tenant.String(), Seq: r.Head.Seq, Hash: r.Head.Hash.String(),
		Time: r.Time.UTC().Format(timeLayout), KeyID: r.KeyID, Signature: base64.StdEncoding.EncodeToString(r.Signature),
	})
	if err != nil {
		return nil, fmt.Errorf("audit: marshalling a receipt: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseReceipt reads a receipt in exactly the form [Receipt.Marshal]
// writes, and refuses anything else with an error wrapping
// [ErrMalformed]. It does not verify the signature: call
// [Receipt.Verify]. It is safe for concurrent use.
func ParseReceipt(b []byte) (Receipt, error) {
	bad := func(format string, args ...any) (Receipt, error) {
		return Receipt{}, fmt.Errorf("%w: receipt: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	var v receiptJSON
	if err := decodeStrict(b, &v); err != nil {
		return bad("%v", err)
	}
	if v.Version != ReceiptVersion {
		return bad("version %d is not %d", v.Version, ReceiptVersion)
	}
	r := Receipt{KeyID: v.KeyID}
	var err error
	if r.Tenant, err = tenancy.KeyText.Parse(v.Tenant); err != nil {
		return bad("tenant: %v", err)
	}
	if r.Head, err = parseHead(v.Seq, v.Hash); err != nil {
		return bad("%v", err)
	}
	if r.Time, err = parseTime(v.Time); err != nil {
		return bad("%v", err)
	}
	if r.Signature, err = parseSignature(v.Signature); err != nil {
		return bad("%v", err)
	}
	if err := r.check(); err != nil {
		return Receipt{}, err
	}
	if again, err := r.marshal(); err != nil || string(again) != string(b) {
		return bad("not in the canonical form (one line, fields in order, one trailing newline)")
	}
	return r, nil
}

// ReadReceipt reads tenant's chain head and its last event through db and
// returns an unsigned [Receipt] of it (sign it with [Receipt.Sign]), its
// time the database's. The head must match the last event: a receipt is
// never made for a head the caller cannot see an event for.
//
// Through the app role, row-level security decides: db is a tenant
// transaction ([tenantdb.Tx]) of a staff principal of tenant with a
// reader role ([Config.ReaderRoles]), who reads the tenant's events; for
// anyone else, or a tenant without events, it fails with [ErrNoChain].
// A head that does not match its event fails with a [*Problem] of kind
// [HeadMismatch]. Other errors are the database's. It is safe for
// concurrent use as far as db is.
func ReadReceipt(ctx context.Context, db Querier, tenant tenancy.ID) (Receipt, error) {
	if tenant.IsZero() {
		return Receipt{}, fmt.Errorf("audit: reading a receipt: %w", tenancy.ErrNoTenant)
	}
	rows, err := db.Query(ctx, `SELECT h.seq, h.hash, e.id, e.hash, now() FROM audit.chain_heads h
		JOIN audit.events e ON e.tenant_id = $1 AND e.seq = h.seq WHERE h.tenant_id = $1`, tenant)
	if err != nil {
		return Receipt{}, fmt.Errorf("audit: reading a receipt: %w", err)
	}
	type row struct {
		Seq              int64
		HeadHash, EvHash []byte
		Event            tenancy.ID
		Time             time.Time
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.Seq, &x.HeadHash, &x.Event, &x.EvHash, &x.Time)
		return x, err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("audit: reading a receipt: %w", err)
	}
	if len(found) != 1 || found[0].Seq < 1 {
		return Receipt{}, fmt.Errorf("audit: reading a receipt of tenant %s: %w", tenant, ErrNoChain)
	}
	x := found[0]
	if string(x.HeadHash) != string(x.EvHash) {
		return Receipt{}, &Problem{Kind: HeadMismatch, Tenant: tenant, Seq: x.Seq, Event: x.Event}
	}
	r := Receipt{Tenant: tenant, Head: Head{Seq: x.Seq}, Time: x.Time.UTC().Truncate(time.Microsecond)}
	copy(r.Head.Hash[:], x.HeadHash)
	return r, nil
}
