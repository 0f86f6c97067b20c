package tenancy

import (
	"fmt"
	"slices"
)

// Kind names a sort of principal, as tokens and the database's
// principal_kind() carry it: a lower-case identifier of at most 63 bytes
// (letters a-z, digits, '_', starting with a letter). Which kinds exist and
// what each may do is the application's own declaration ([Principals],
// built from its isolation model); the SDK defines only [KindSystem]. A
// kind that is not declared is refused wherever principals enter.
type Kind string

// KindSystem is the application itself doing deliberate work (migrations,
// jobs, platform maintenance) through tenantdb's audited entry points. It
// may or may not have a tenant, never has an impersonation, and gets no
// tokens. Every deployment has it; it may not be declared.
const KindSystem Kind = "system"

// MaxKindLen is the longest [Kind] name, in bytes.
const MaxKindLen = 63

// String returns the kind's name.
func (k Kind) String() string { return string(k) }

// Valid reports whether k is a well-formed kind name. It says nothing of
// whether the deployment declares it; [Principals.Check] does.
func (k Kind) Valid() bool {
	if len(k) == 0 || len(k) > MaxKindLen || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// ParseKind parses a kind name. Malformed text gives an error wrapping
// [ErrInvalidKind]; like [ParseID], the error does not echo the input.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); k.Valid() {
		return k, nil
	}
	return "", fmt.Errorf("%w: not a lower-case identifier of at most %d bytes", ErrInvalidKind, MaxKindLen)
}

// MarshalText implements [encoding.TextMarshaler]; malformed kinds fail.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("%w: malformed kind name", ErrInvalidKind)
	}
	return []byte(k), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseKind].
func (k *Kind) UnmarshalText(b []byte) error {
	parsed, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// Access says how the principals of a [Kind] reach tenant data. The zero
// Access is invalid, so a kind declared without one is refused.
type Access uint8

const (
	// AccessTenant principals belong to one tenant and see all of its rows
	// that the tables' own policies allow (staff of an organization).
	// Tenant and subject required.
	AccessTenant Access = iota + 1
	// AccessSubject principals belong to one tenant and see only the rows
	// of tables with a subject column whose value is their subject (a
	// customer in a portal); tables without one show them the tenant's rows.
	// Tenant and subject required.
	AccessSubject
	// AccessOperator principals work for the platform: they have no tenant
	// of their own and enter one only through an audited impersonation
	// grant, whose tenant they then act in. Subject required.
	AccessOperator
)

var accessNames = [...]string{AccessTenant: "tenant", AccessSubject: "subject", AccessOperator: "operator"}

// String returns "tenant", "subject", "operator", or "Access(n)".
func (a Access) String() string {
	if a.Valid() {
		return accessNames[a]
	}
	return fmt.Sprintf("Access(%d)", uint8(a))
}

// Valid reports whether a is one of the defined accesses.
func (a Access) Valid() bool { return a >= AccessTenant && a <= AccessOperator }

// MarshalText implements [encoding.TextMarshaler]; invalid accesses fail.
func (a Access) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("%w: access %d", ErrInvalidKind, uint8(a))
	}
	return []byte(accessNames[a]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]: "tenant", "subject"
// or "operator"; other text fails with an error wrapping [ErrInvalidKind].
func (a *Access) UnmarshalText(b []byte) error {
	for i, name := range accessNames {
		if name != "" && name == string(b) {
			*a = Access(i)
			return nil
		}
	}
	return fmt.Errorf("%w: access %q is not tenant, subject or operator", ErrInvalidKind, b)
}

// KindSpec declares one principal kind of a deployment.
type KindSpec struct {
	// Name is the kind's name. Required; not [KindSystem].
	Name Kind `json:"name"`
	// Access is how its principals reach tenant data. Required.
	Access Access `json:"access"`
}

// Principals declares what principals a deployment accepts: the types of
// its tenant and subject keys and its principal kinds. It is one part of
// the isolation model (package rls builds it with Model.Principals), and
// every entry point reads it from there: token verification (jwtctx), the
// database pool (tenantdb), the test harness. The zero Principals accepts
// UUID keys and no kind but [KindSystem].
type Principals struct {
	// TenantKey is the type of tenant keys. Default [KeyUUID].
	TenantKey KeyType `json:"tenant_key,omitzero"`
	// SubjectKey is the type of subject keys: the ids of the people and
	// clients that principals are (an impersonating operator's id too).
	// Default [KeyUUID]. Impersonation grant ids are always UUIDs.
	SubjectKey KeyType `json:"subject_key,omitzero"`
	// Kinds are the declared principal kinds, names unique.
	Kinds []KindSpec `json:"kinds,omitempty"`
}

// Validate reports whether ps is a usable declaration: valid key types,
// and kinds with well-formed, unique names other than [KindSystem] and a
// valid Access. It returns nil or an error wrapping [ErrInvalidKind] or
// [ErrInvalidKeyType].
func (ps Principals) Validate() error {
	if !ps.TenantKey.Valid() || !ps.SubjectKey.Valid() {
		return fmt.Errorf("%w: tenant or subject key type", ErrInvalidKeyType)
	}
	for i, k := range ps.Kinds {
		switch {
		case !k.Name.Valid():
			return fmt.Errorf("%w: kind %d: malformed name", ErrInvalidKind, i)
		case k.Name == KindSystem:
			return fmt.Errorf("%w: kind %q is the SDK's own and may not be declared", ErrInvalidKind, k.Name)
		case !k.Access.Valid():
			return fmt.Errorf("%w: kind %q has no valid access (tenant, subject or operator)", ErrInvalidKind, k.Name)
		}
		for _, prev := range ps.Kinds[:i] {
			if prev.Name == k.Name {
				return fmt.Errorf("%w: kind %q declared twice", ErrInvalidKind, k.Name)
			}
		}
	}
	return nil
}

// Lookup returns the declaration of kind k, and whether ps declares it.
// [KindSystem] is never declared.
func (ps Principals) Lookup(k Kind) (KindSpec, bool) {
	for _, spec := range ps.Kinds {
		if spec.Name == k {
			return spec, true
		}
	}
	return KindSpec{}, false
}

// Access returns the access of kind k, or 0 when ps does not declare it
// (and for [KindSystem]).
func (ps Principals) Access(k Kind) Access {
	spec, _ := ps.Lookup(k)
	return spec.Access
}

// Check reports whether p is a principal this deployment accepts: it
// passes [Principal.Validate]; its kind is declared (or is [KindSystem]);
// its tenant and subject, when set, are keys of the declared types (the
// impersonating operator's id a subject key, the grant a UUID); and its
// fields fit its kind's Access:
//   - AccessTenant and AccessSubject: a tenant and a subject, no
//     impersonation;
//   - AccessOperator: a subject; without an impersonation no tenant, with
//     one a tenant;
//   - KindSystem: no impersonation.
//
// Failures wrap [ErrInvalidPrincipal], [ErrInvalidKind] or [ErrInvalidID].
// It allocates only on failure.
func (ps Principals) Check(p Principal) error {
	if err := p.Validate(); err != nil {
		return err
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %s", ErrInvalidPrincipal, p.Kind, why)
	}
	if p.HasTenant() {
		if err := ps.TenantKey.Check(p.Tenant); err != nil {
			return fmt.Errorf("%w: tenant: %w", ErrInvalidPrincipal, err)
		}
	}
	if !p.Subject.IsZero() {
		if err := ps.SubjectKey.Check(p.Subject); err != nil {
			return fmt.Errorf("%w: subject: %w", ErrInvalidPrincipal, err)
		}
	}
	if p.Impersonation != nil {
		if err := KeyUUID.Check(p.Impersonation.GrantID); err != nil {
			return fmt.Errorf("%w: impersonation grant: %w", ErrInvalidPrincipal, err)
		}
	}
	if p.Kind == KindSystem {
		if p.Impersonation != nil {
			return bad("with an impersonation")
		}
		return nil
	}
	switch ps.Access(p.Kind) {
	case AccessTenant, AccessSubject:
		switch {
		case !p.HasTenant():
			return bad("without a tenant")
		case p.Subject.IsZero():
			return bad("without a subject")
		case p.Impersonation != nil:
			return bad("with an impersonation")
		}
	case AccessOperator:
		if p.Subject.IsZero() {
			return bad("without a subject")
		}
		if p.Impersonation == nil && p.HasTenant() {
			return bad("with a tenant but no impersonation")
		}
		if p.Impersonation != nil && !p.HasTenant() {
			return bad("impersonating without a tenant")
		}
	default:
		return fmt.Errorf("%w: %w: kind %q is not declared", ErrInvalidPrincipal, ErrInvalidKind, p.Kind)
	}
	return nil
}

// Impersonation records that an operator (a principal of an
// [AccessOperator] kind) is acting inside a tenant under an impersonation
// grant.
type Impersonation struct {
	// GrantID identifies the stored, audited impersonation grant.
	GrantID ID `json:"grant_id"`
	// Admin is the operator who acts (the RFC 8693 "act" party): the
	// principal's own subject.
	Admin ID `json:"admin"`
}

// Principal is the authenticated party on whose behalf a request runs. It is
// built only from a verified token (see package jwtctx) or by trusted code
// for system work, and travels in a [context.Context] via [NewContext].
//
// A Principal is a value; it is safe to copy and to read from several
// goroutines. Its Roles slice must not be modified after the principal is
// put in a context.
type Principal struct {
	// Kind is what sort of party this is. Required.
	Kind Kind `json:"kind"`
	// Tenant is the tenant whose data the principal may touch. Zero means
	// none: operators without an impersonation, and some system work.
	Tenant ID `json:"tenant,omitzero"`
	// Subject is the principal's own id: the user, customer, client or
	// operator it is. Zero only for system principals.
	Subject ID `json:"subject,omitzero"`
	// Roles are the application roles granted within the tenant, such as
	// "owner" or "editor". The tenancy packages do not interpret them
	// (table policies may name them: rls.Table.ReadRoles).
	Roles []string `json:"roles,omitempty"`
	// Impersonation is set only while an operator acts inside a tenant.
	Impersonation *Impersonation `json:"impersonation,omitempty"`
	// RequestID correlates logs and audit events of one request. Optional.
	RequestID string `json:"request_id,omitempty"`
}

// HasTenant reports whether p carries a (non-zero) tenant.
func (p Principal) HasTenant() bool { return !p.Tenant.IsZero() }

// HasRole reports whether role is among p's roles.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// Actor returns the id of the party who really acts: the impersonating
// operator when p is an impersonation, else p.Subject. Audit records name
// it.
func (p Principal) Actor() ID {
	if p.Impersonation != nil {
		return p.Impersonation.Admin
	}
	return p.Subject
}

// Validate reports whether p is well formed, whatever the deployment
// declares: a well-formed kind; a subject unless p is a system principal;
// a system principal without an impersonation; and an impersonation only with a tenant, a grant id, and
// an Admin equal to the subject. [Principals.Check] adds what depends on
// the declaration (the kind is declared, keys have the declared types,
// the fields fit the kind's access); entry points call that.
//
// Failures wrap [ErrInvalidPrincipal] (or [ErrInvalidKind]).
func (p Principal) Validate() error {
	if !p.Kind.Valid() {
		return fmt.Errorf("%w: %w: malformed kind", ErrInvalidPrincipal, ErrInvalidKind)
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %s", ErrInvalidPrincipal, p.Kind, why)
	}
	if p.Kind != KindSystem && p.Subject.IsZero() {
		return bad("without a subject")
	}
	if p.Impersonation != nil {
		switch {
		case p.Kind == KindSystem:
			return bad("with an impersonation")
		case !p.HasTenant():
			return bad("impersonating without a tenant")
		case p.Impersonation.GrantID.IsZero():
			return bad("impersonating without a grant id")
		case p.Impersonation.Admin != p.Subject:
			return bad("impersonation admin differs from the subject")
		}
	}
	return nil
}
