package tenancy

import (
	"fmt"
	"slices"
)

// Kind says what sort of party a [Principal] is. The zero Kind is invalid.
type Kind uint8

// The principal kinds. Their text forms ("staff", "patient",
// "platform_admin", "system") are what tokens and the database's
// tenancy.principal_kind() carry.
const (
	// KindStaff is a member of a clinic's staff: tenant and subject required.
	KindStaff Kind = iota + 1
	// KindPatient is a patient signed in to one clinic's portal: tenant and
	// subject required; the database limits them to their own rows.
	KindPatient
	// KindPlatformAdmin is an operator of the platform. Without an
	// impersonation a platform admin has no tenant; with one, the tenant is
	// the impersonated clinic.
	KindPlatformAdmin
	// KindSystem is the application itself doing deliberate work
	// (migrations, jobs). It may or may not have a tenant.
	KindSystem
)

var kindNames = [...]string{
	KindStaff:         "staff",
	KindPatient:       "patient",
	KindPlatformAdmin: "platform_admin",
	KindSystem:        "system",
}

// String returns the kind's text form, or "Kind(n)" for an invalid kind.
func (k Kind) String() string {
	if k.Valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is one of the defined kinds.
func (k Kind) Valid() bool { return k >= KindStaff && k <= KindSystem }

// ParseKind parses a kind's text form. Unknown text gives an error wrapping
// [ErrInvalidKind]; like [ParseID], the error does not echo the input.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if name != "" && name == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("%w: not one of staff, patient, platform_admin, system", ErrInvalidKind)
}

// MarshalText implements [encoding.TextMarshaler]; invalid kinds fail.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidKind, uint8(k))
	}
	return []byte(kindNames[k]), nil
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

// Impersonation records that a platform admin is acting inside a clinic
// under an impersonation grant.
type Impersonation struct {
	// GrantID identifies the stored, audited impersonation grant.
	GrantID ID `json:"grant_id"`
	// Admin is the platform admin who acts (the RFC 8693 "act" party).
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
	// Tenant is the clinic whose data the principal may touch. Zero means
	// none: platform admins without an impersonation, and some system work.
	Tenant ID `json:"tenant,omitzero"`
	// Subject is the principal's own id: the staff account, the patient, or
	// the platform admin. Zero only for system principals.
	Subject ID `json:"subject,omitzero"`
	// Roles are the application roles granted within the tenant, such as
	// "owner" or "dentist". The tenancy packages do not interpret them.
	Roles []string `json:"roles,omitempty"`
	// Impersonation is set only while a platform admin acts inside a clinic.
	Impersonation *Impersonation `json:"impersonation,omitempty"`
	// RequestID correlates logs and audit events of one request. Optional.
	RequestID string `json:"request_id,omitempty"`
}

// HasTenant reports whether p carries a (non-zero) tenant.
func (p Principal) HasTenant() bool { return !p.Tenant.IsZero() }

// HasRole reports whether role is among p's roles.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// Actor returns the id of the person who really acts: the impersonating
// admin when p is an impersonation, else p.Subject. Audit records name it.
func (p Principal) Actor() ID {
	if p.Impersonation != nil {
		return p.Impersonation.Admin
	}
	return p.Subject
}

// Validate reports whether p's fields fit its kind. The rules:
//   - the kind is valid;
//   - staff and patients have a tenant and a subject, and no impersonation;
//   - a platform admin has a subject; without an impersonation they have no
//     tenant; with one, they have a tenant, a grant id, and the
//     impersonation's Admin equals the subject;
//   - a system principal has no impersonation.
//
// Failures wrap [ErrInvalidPrincipal] (or [ErrInvalidKind]).
func (p Principal) Validate() error {
	if !p.Kind.Valid() {
		return fmt.Errorf("%w: %w: %d", ErrInvalidPrincipal, ErrInvalidKind, uint8(p.Kind))
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %s", ErrInvalidPrincipal, p.Kind, why)
	}
	switch p.Kind {
	case KindStaff, KindPatient:
		switch {
		case !p.HasTenant():
			return bad("without a tenant")
		case p.Subject.IsZero():
			return bad("without a subject")
		case p.Impersonation != nil:
			return bad("with an impersonation")
		}
	case KindPlatformAdmin:
		if p.Subject.IsZero() {
			return bad("without a subject")
		}
		if p.Impersonation == nil {
			if p.HasTenant() {
				return bad("with a tenant but no impersonation")
			}
			return nil
		}
		switch {
		case !p.HasTenant():
			return bad("impersonating without a tenant")
		case p.Impersonation.GrantID.IsZero():
			return bad("impersonating without a grant id")
		case p.Impersonation.Admin != p.Subject:
			return bad("impersonation admin differs from the subject")
		}
	case KindSystem:
		if p.Impersonation != nil {
			return bad("with an impersonation")
		}
	}
	return nil
}
