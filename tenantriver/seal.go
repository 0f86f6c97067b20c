package tenantriver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"

	"github.com/mydentalpractice/tenancy"
)

// MetadataKey is the key of River's job metadata under which the SDK
// stores a job's sealed principal. Applications may not write it: Insert
// refuses metadata that holds it, and a job whose entry does not verify is
// cancelled.
const MetadataKey = "tenancy"

// sealVersion is the version of the seal's layout and MAC input.
const sealVersion = 1

// seal is the entry at MetadataKey.
type seal struct {
	Version int `json:"v"`
	// Tenant is the principal's tenant, in its canonical text: the
	// database's generated tenant column of river_job reads it, so that
	// row-level security binds the insert to the transaction's tenant.
	Tenant string `json:"tenant"`
	// Principal is the principal as encoding/json writes it, kept as a
	// string so that jsonb stores the exact bytes the MAC covers.
	Principal string `json:"principal"`
	// MAC is HMAC-SHA256, base64url without padding, over macInput.
	MAC string `json:"mac"`
}

// macInput feeds h the seal's MAC input: a domain label and the version,
// then, each prefixed with its length, the job's id, kind, canonical args,
// tenant and principal. The id binds the seal to one row, so metadata
// copied to another job (even with the same kind and args) does not verify.
func macInput(h hash.Hash, id int64, kind string, canonicalArgs []byte, tenant, principal string) {
	h.Write([]byte("tenancy/tenantriver\x00v" + strconv.Itoa(sealVersion) + "\x00"))
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(strconv.FormatInt(id, 10)))
	field([]byte(kind))
	field(canonicalArgs)
	field([]byte(tenant))
	field([]byte(principal))
}

func mac(key []byte, id int64, kind string, canonicalArgs []byte, tenant, principal string) []byte {
	h := hmac.New(sha256.New, key)
	macInput(h, id, kind, canonicalArgs, tenant, principal)
	return h.Sum(nil)
}

// sealFor returns the seal of p for the job id with kind and encoded args.
func sealFor(key []byte, id int64, kind string, encodedArgs []byte, p tenancy.Principal) (seal, error) {
	canon, err := canonicalJSON(encodedArgs)
	if err != nil {
		return seal{}, err
	}
	pj, err := json.Marshal(wireOf(p))
	if err != nil {
		return seal{}, fmt.Errorf("principal: %w", err)
	}
	tenant := p.Tenant.String()
	sum := mac(key, id, kind, canon, tenant, string(pj))
	return seal{Version: sealVersion, Tenant: tenant, Principal: string(pj), MAC: base64.RawURLEncoding.EncodeToString(sum)}, nil
}

// open verifies the seal in a job's metadata against its id, kind and
// encoded args with each of keys, and returns the principal it carries.
// Its errors wrap ErrNoPrincipal (no seal) or ErrForged (a seal that does
// not verify or does not parse); they never hold the metadata itself.
func open(keys [][]byte, principals tenancy.Principals, id int64, kind string, encodedArgs, metadata []byte) (tenancy.Principal, error) {
	var meta struct {
		Seal json.RawMessage `json:"tenancy"` // MetadataKey
	}
	if err := json.Unmarshal(metadata, &meta); err != nil {
		return tenancy.Principal{}, fmt.Errorf("%w: the job's metadata is not a JSON object", ErrNoPrincipal)
	}
	raw := meta.Seal
	if raw == nil {
		return tenancy.Principal{}, ErrNoPrincipal
	}
	var s seal
	if err := json.Unmarshal(raw, &s); err != nil {
		return tenancy.Principal{}, fmt.Errorf("%w: the seal does not parse", ErrForged)
	}
	if s.Version != sealVersion {
		return tenancy.Principal{}, fmt.Errorf("%w: seal version %d", ErrForged, s.Version)
	}
	got, err := base64.RawURLEncoding.DecodeString(s.MAC)
	if err != nil {
		return tenancy.Principal{}, fmt.Errorf("%w: the seal's MAC does not parse", ErrForged)
	}
	canon, err := canonicalJSON(encodedArgs)
	if err != nil {
		return tenancy.Principal{}, fmt.Errorf("%w: %w", ErrForged, err)
	}
	verified := false
	for _, k := range keys {
		if hmac.Equal(got, mac(k, id, kind, canon, s.Tenant, s.Principal)) {
			verified = true
			break
		}
	}
	if !verified {
		return tenancy.Principal{}, fmt.Errorf("%w: the MAC does not match the job's id, kind, args and principal under any key", ErrForged)
	}
	var w wirePrincipal
	if err := json.Unmarshal([]byte(s.Principal), &w); err != nil {
		return tenancy.Principal{}, fmt.Errorf("%w: the sealed principal does not parse", ErrForged)
	}
	p, err := w.principal(principals)
	if err != nil {
		return tenancy.Principal{}, fmt.Errorf("%w: %w", ErrForged, err)
	}
	if p.Tenant.String() != s.Tenant || p.Tenant.IsZero() {
		return tenancy.Principal{}, fmt.Errorf("%w: the seal's tenant is not its principal's", ErrForged)
	}
	if err := principals.Check(p); err != nil {
		return tenancy.Principal{}, fmt.Errorf("%w: %w", ErrForged, err)
	}
	return p, nil
}

// wirePrincipal is a principal as a seal carries it: keys as text, so
// that they parse with the model's key types. Impersonations are never
// sealed (Insert refuses them).
type wirePrincipal struct {
	Kind      string   `json:"kind"`
	Tenant    string   `json:"tenant"`
	Subject   string   `json:"subject,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	RequestID string   `json:"request_id,omitempty"`
}

func wireOf(p tenancy.Principal) wirePrincipal {
	return wirePrincipal{Kind: string(p.Kind), Tenant: p.Tenant.String(), Subject: p.Subject.String(), Roles: p.Roles, RequestID: p.RequestID}
}

func (w wirePrincipal) principal(ps tenancy.Principals) (tenancy.Principal, error) {
	kind, err := tenancy.ParseKind(w.Kind)
	if err != nil {
		return tenancy.Principal{}, err
	}
	tenant, err := ps.TenantKey.Parse(w.Tenant)
	if err != nil {
		return tenancy.Principal{}, err
	}
	p := tenancy.Principal{Kind: kind, Tenant: tenant, Roles: w.Roles, RequestID: w.RequestID}
	if w.Subject != "" {
		if p.Subject, err = ps.SubjectKey.Parse(w.Subject); err != nil {
			return tenancy.Principal{}, err
		}
	}
	return p, nil
}
