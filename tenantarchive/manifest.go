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
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy/audit"
)

// Format is the value of [Manifest.Format]: what the archive is.
const Format = "tenancy-tenant-archive"

// Version is the archive format's version, [Manifest.Version]. A reader
// refuses any other: a new version is a new format.
const Version = 1

// ManifestFile is the manifest's name in the archive's directory.
const ManifestFile = "manifest.json"

// DataDir is the directory of the table files in the archive.
const DataDir = "data"

// The classes of [Table.Class].
const (
	ClassTenant   = "tenant"
	ClassRegistry = "registry"
)

// maxManifest bounds the manifest file that [ReadManifest] reads.
const maxManifest = 16 << 20

// Manifest describes an archive: which tenant, which schema, and each
// table file with its row count and SHA-256. Its JSON form is the archive's
// manifest.json. A Manifest is a plain value; it is not safe for
// concurrent modification.
type Manifest struct {
	// Format is [Format]; Version is [Version].
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Tenant is the tenant's key, as text; KeyType is its type ("uuid",
	// "bigint" or "text", the model's rls.Config.TenantKey).
	Tenant  string `json:"tenant"`
	KeyType string `json:"key_type"`
	// SchemaVersion is what the exporter's caller said the schema's
	// version is (for goose apps, the latest applied version); import
	// compares it with its own when given one.
	SchemaVersion string `json:"schema_version"`
	// ExportedAt is when the export's snapshot was taken (UTC,
	// microseconds).
	ExportedAt time.Time `json:"exported_at"`
	// AuditHead is the head of the tenant's audit chain in the snapshot
	// (nil when the model has no audit tables). The export's own record is
	// in the chain: the snapshot is taken after it committed.
	AuditHead *Head `json:"audit_head"`
	// Tables lists every file, registries first, then tenant relations, each
	// sorted by name.
	Tables []Table `json:"tables"`
	// Digest is the lower-case hex SHA-256 of [Manifest.Encode]: it ties
	// the fields above together, so an edit that forgets it is caught.
	Digest string `json:"digest"`
	// KeyID and Signature, when the export was signed, are the signing
	// key's id (audit.KeyID) and the standard base64 Ed25519 signature of
	// [Manifest.Encode].
	KeyID     string `json:"key_id,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// Head is an audit chain's head: the last event's seq and hash (lower-case
// hex of 32 bytes); seq 0 and the zero hash for an empty chain.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Table is one table file of an archive.
type Table struct {
	// Name is the relation, "schema.name", unquoted.
	Name string `json:"name"`
	// Class is [ClassTenant] (the tenant's rows) or [ClassRegistry] (the
	// registry rows the tenant's rows reference).
	Class string `json:"class"`
	// File is the file's path in the archive, "data/0001.csv".
	File string `json:"file"`
	// Columns are the file's columns, in order; its header line names
	// them.
	Columns []string `json:"columns"`
	// Rows is the number of rows (records after the header).
	Rows int64 `json:"rows"`
	// Bytes is the file's size; SHA256 its lower-case hex SHA-256.
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

var (
	hexHash  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	dataFile = regexp.MustCompile(`^` + DataDir + `/[0-9]{4}\.csv$`)
)

// Encode returns the bytes that [Manifest.Digest] and the signature
// cover, version 1: each field as a 4-byte big-endian length and its
// bytes (numbers as 8-byte big-endian), in this order: the text
// "tenancy/tenantarchive/manifest/v1", format, version, tenant, key
// type, schema version, exported at (Unix microseconds), whether there is
// an audit head (1 byte), its seq and hash, the number of tables, and per
// table its name, class, file, number of columns, each column, rows,
// bytes and SHA-256. The digest and the signature are not in it.
func (m *Manifest) Encode() []byte {
	var b bytes.Buffer
	field := func(s string) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(s)))
		b.WriteString(s)
	}
	num := func(n int64) {
		_ = binary.Write(&b, binary.BigEndian, uint32(8))
		_ = binary.Write(&b, binary.BigEndian, n)
	}
	field("tenancy/tenantarchive/manifest/v1")
	field(m.Format)
	num(int64(m.Version))
	field(m.Tenant)
	field(m.KeyType)
	field(m.SchemaVersion)
	num(m.ExportedAt.UnixMicro())
	if m.AuditHead == nil {
		field("\x00")
	} else {
		field("\x01")
		num(m.AuditHead.Seq)
		field(m.AuditHead.Hash)
	}
	num(int64(len(m.Tables)))
	for _, t := range m.Tables {
		field(t.Name)
		field(t.Class)
		field(t.File)
		num(int64(len(t.Columns)))
		for _, c := range t.Columns {
			field(c)
		}
		num(t.Rows)
		num(t.Bytes)
		field(t.SHA256)
	}
	return b.Bytes()
}

// digest returns the hex SHA-256 of m's encoding.
func (m *Manifest) digest() string {
	sum := sha256.Sum256(m.Encode())
	return hex.EncodeToString(sum[:])
}

// Seal sets m's Digest, and, with a key, signs m (KeyID and Signature);
// a nil key leaves it unsigned. Export calls it last.
func (m *Manifest) Seal(key ed25519.PrivateKey) {
	m.Digest = m.digest()
	m.KeyID, m.Signature = "", ""
	if key != nil {
		m.KeyID = audit.KeyID(key.Public().(ed25519.PublicKey))
		m.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, m.Encode()))
	}
}

// Marshal returns m's JSON form as the archive stores it: two-space
// indent, a trailing newline.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseManifest reads a manifest's JSON form and checks it: the format and
// version, no unknown or missing field, well-formed names, files, hashes
// and counts, no table or file twice, and the digest. It returns an error
// wrapping [ErrManifest] for a malformed manifest and [ErrTampered] for
// one whose digest does not match its fields; errors never quote the
// manifest's text. It does not check the signature ([Manifest.Verify])
// or the files ([VerifyFiles]).
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: not a manifest's JSON", ErrManifest)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the manifest", ErrManifest)
	}
	bad := func(format string, args ...any) (*Manifest, error) {
		return nil, fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, args...))
	}
	switch {
	case m.Format != Format:
		return bad("not a tenant archive")
	case m.Version != Version:
		return bad("format version %d, want %d", m.Version, Version)
	case m.Tenant == "":
		return bad("no tenant")
	case m.KeyType != "uuid" && m.KeyType != "bigint" && m.KeyType != "text":
		return bad("unknown key type")
	case m.ExportedAt.IsZero():
		return bad("no export time")
	case !hexHash.MatchString(m.Digest):
		return bad("no digest")
	case (m.KeyID == "") != (m.Signature == ""):
		return bad("a key id without a signature, or the reverse")
	}
	if h := m.AuditHead; h != nil && (h.Seq < 0 || !hexHash.MatchString(h.Hash)) {
		return bad("malformed audit head")
	}
	var names, files []string
	for i, t := range m.Tables {
		switch {
		case strings.Count(t.Name, ".") != 1 || strings.HasPrefix(t.Name, ".") || strings.HasSuffix(t.Name, "."):
			return bad("table %d: name is not schema.name", i+1)
		case t.Class != ClassTenant && t.Class != ClassRegistry:
			return bad("table %d: unknown class", i+1)
		case !dataFile.MatchString(t.File):
			return bad("table %d: file is not %s/NNNN.csv", i+1, DataDir)
		case len(t.Columns) == 0 || slices.Contains(t.Columns, ""):
			return bad("table %d: no columns, or an empty column name", i+1)
		case t.Rows < 0 || t.Bytes <= 0:
			return bad("table %d: negative rows or no bytes", i+1)
		case !hexHash.MatchString(t.SHA256):
			return bad("table %d: malformed SHA-256", i+1)
		}
		cols := slices.Clone(t.Columns)
		slices.Sort(cols)
		if len(slices.Compact(cols)) != len(t.Columns) {
			return bad("table %d: a column twice", i+1)
		}
		names, files = append(names, t.Name), append(files, t.File)
	}
	slices.Sort(names)
	slices.Sort(files)
	if len(slices.Compact(names)) != len(m.Tables) || len(slices.Compact(files)) != len(m.Tables) {
		return bad("a table or a file twice")
	}
	if m.digest() != m.Digest {
		return nil, fmt.Errorf("%w: the manifest's digest does not match its fields", ErrTampered)
	}
	return &m, nil
}

// Verify checks m's signature with pub: an error wrapping [ErrSignature]
// when m is unsigned, signed with another key, or its signature does not
// cover its fields.
func (m *Manifest) Verify(pub ed25519.PublicKey) error {
	if m.Signature == "" {
		return fmt.Errorf("%w: the archive is not signed", ErrSignature)
	}
	if len(pub) != ed25519.PublicKeySize || m.KeyID != audit.KeyID(pub) {
		return fmt.Errorf("%w: signed with another key", ErrSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || !ed25519.Verify(pub, m.Encode(), sig) {
		return fmt.Errorf("%w: the signature does not cover the manifest", ErrSignature)
	}
	return nil
}

// Table returns the table file of relation name ("schema.name"), if the
// manifest lists it.
func (m *Manifest) Table(name string) (Table, bool) {
	i := slices.IndexFunc(m.Tables, func(t Table) bool { return t.Name == name })
	if i < 0 {
		return Table{}, false
	}
	return m.Tables[i], true
}
