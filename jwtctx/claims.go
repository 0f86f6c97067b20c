package jwtctx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mydentalpractice/tenancy"
)

// MaxClaimPathLength is the most names a [ClaimPath] may hold.
const MaxClaimPathLength = 8

// MaxExternalRoles is the most roles taken from one external token; a
// token with more is refused, not cut.
const MaxExternalRoles = 256

// ClaimPath locates a value in a token's claims: a claim's name, then the
// names of members of nested objects. Names are taken whole, never split
// on dots or colons:
//
//	ClaimPath{"org_id"}                 the "org_id" claim (Auth0 Organizations)
//	ClaimPath{"o", "id"}                the "id" member of the "o" claim
//	ClaimPath{"urn:zitadel:iam:org:id"} a claim whose name holds colons
//	ClaimPath{"https://example.com/tenant"} a namespaced custom claim
//	ClaimPath{"realm_access", "roles"}  Keycloak's realm roles
//
// A path holds 1 to [MaxClaimPathLength] names, none empty.
type ClaimPath []string

// String returns the path's names, quoted, joined by dots.
func (p ClaimPath) String() string {
	q := make([]string, len(p))
	for i, s := range p {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ".")
}

func (p ClaimPath) validate() error {
	if len(p) == 0 || len(p) > MaxClaimPathLength {
		return fmt.Errorf("claim path of %d names, want 1 to %d", len(p), MaxClaimPathLength)
	}
	for _, s := range p {
		if err := checkClaimString(s); err != nil {
			return fmt.Errorf("claim path %v: name: %w", p, err)
		}
	}
	return nil
}

// lookup returns the value at p in c, and whether every name on the way
// is there. A JSON null counts as absent.
func (p ClaimPath) lookup(c map[string]any) (any, bool) {
	var v any = c
	for _, name := range p {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[name]; !ok || v == nil {
			return nil, false
		}
	}
	return v, true
}

// TenantForm says how the value at a [TenantClaim]'s path holds the tenant
// key. Every form needs exactly one tenant: none, two or an empty one is
// refused.
type TenantForm uint8

const (
	// TenantValue: the value is the key, a JSON string. The zero
	// TenantForm. Auth0 Organizations ("org_id": "org_9ybsU1dN2dKfDkBi"),
	// Zitadel ("urn:zitadel:iam:user:resourceowner:id": "1234"), a
	// custom claim.
	TenantValue TenantForm = iota
	// TenantOnlyElement: the value is a JSON array holding exactly one
	// string, the key. Keycloak organizations by name
	// ("organization": ["acme"]).
	TenantOnlyElement
	// TenantOnlyMember: the value is a JSON object with exactly one
	// member. The key is that member's name, or with [TenantClaim.Field]
	// the string at Field inside the member's value. Keycloak
	// organizations with ids ("organization": {"acme": {"id": "42…"}},
	// Field {"id"}); Zitadel's roles-by-organization shapes.
	TenantOnlyMember
)

// String returns the form's name.
func (f TenantForm) String() string {
	switch f {
	case TenantValue:
		return "TenantValue"
	case TenantOnlyElement:
		return "TenantOnlyElement"
	case TenantOnlyMember:
		return "TenantOnlyMember"
	}
	return fmt.Sprintf("TenantForm(%d)", uint8(f))
}

// TenantClaim says where an external token holds the tenant. The key found
// there must parse as a key of the declared type
// ([tenancy.Principals].TenantKey, [tenancy.KeyType.Parse]).
type TenantClaim struct {
	// Path locates the claim. Required.
	Path ClaimPath
	// Form says how the value at Path holds the key. The zero value is
	// [TenantValue].
	Form TenantForm
	// Field, with [TenantOnlyMember] only, locates the key inside the
	// one member's value. Empty means the member's name is the key.
	Field ClaimPath
}

// KindClaim says which declared principal kind an external token speaks
// for: either Fixed, the one kind of every principal of the provider, or
// the string at Path translated by Values. Exactly one of Fixed and Path
// is set. Kinds must be declared in [Config.Principals] with
// [tenancy.AccessTenant] or [tenancy.AccessSubject]: operators get their
// cross-tenant reach only from the SDK's own tokens, under an audited
// grant, never from a provider's claim.
type KindClaim struct {
	// Fixed is the kind of every principal of the provider.
	Fixed tenancy.Kind
	// Path locates a string claim naming the kind, such as a custom
	// "https://example.com/kind" claim.
	Path ClaimPath
	// Values maps the claim's values to kinds; a value not listed is
	// refused. Required with Path: the provider's vocabulary never
	// becomes a kind by accident.
	Values map[string]tenancy.Kind
}

// RolesForm says how the value at a [RolesClaim]'s path holds the roles.
type RolesForm uint8

const (
	// RolesList: a JSON array of strings, each a role. The zero
	// RolesForm. Keycloak ("realm_access": {"roles": [...]}), Auth0
	// ("permissions" or a custom claim).
	RolesList RolesForm = iota
	// RolesMemberNames: a JSON object whose member names are the roles.
	// Zitadel ("urn:zitadel:iam:org:project:roles":
	// {"admin": {"<org id>": "<org domain>"}}).
	RolesMemberNames
)

// RolesClaim says where an external token holds the principal's roles
// within the tenant. The zero RolesClaim takes no roles. A token without
// the claim has no roles; a claim of the wrong form, a role that is not a
// non-empty string, or more than [MaxExternalRoles] roles is refused.
type RolesClaim struct {
	// Path locates the claim. Empty means the principal has no roles.
	Path ClaimPath
	// Form says how the value at Path holds the roles.
	Form RolesForm
	// PerTenant, with [RolesMemberNames] only, keeps a role only when its
	// member's value is an object with a member named by the principal's
	// tenant key: Zitadel lists each role with the organizations that
	// granted it, and a role granted in another organization is not a
	// role in this tenant.
	PerTenant bool
}

// ClaimMapping declares how an external provider's token becomes a
// [tenancy.Principal]: where the tenant, kind, subject and roles are.
// Nothing is guessed: a claim that is absent, of the wrong form, ambiguous
// or not a key of the declared type refuses the token.
type ClaimMapping struct {
	// Tenant locates the tenant key. Required.
	Tenant TenantClaim
	// Kind gives the principal's kind. Required.
	Kind KindClaim
	// Subject locates the subject key, a string of the declared subject
	// key type. Empty means ClaimPath{"sub"}.
	Subject ClaimPath
	// Roles locates the roles. The zero RolesClaim takes none.
	Roles RolesClaim
}

// withDefaults validates m and returns it with defaults applied and its
// maps and paths copied.
func (m ClaimMapping) withDefaults() (ClaimMapping, error) {
	if err := m.Tenant.Path.validate(); err != nil {
		return ClaimMapping{}, fmt.Errorf("tenant path: %w", err)
	}
	switch m.Tenant.Form {
	case TenantValue, TenantOnlyElement:
		if len(m.Tenant.Field) > 0 {
			return ClaimMapping{}, fmt.Errorf("tenant Field is only for TenantOnlyMember")
		}
	case TenantOnlyMember:
		if len(m.Tenant.Field) > 0 {
			if err := m.Tenant.Field.validate(); err != nil {
				return ClaimMapping{}, fmt.Errorf("tenant Field: %w", err)
			}
		}
	default:
		return ClaimMapping{}, fmt.Errorf("tenant Form %v unknown", m.Tenant.Form)
	}
	m.Tenant.Path, m.Tenant.Field = slices.Clone(m.Tenant.Path), slices.Clone(m.Tenant.Field)

	switch k := m.Kind; {
	case k.Fixed != "" && (len(k.Path) > 0 || len(k.Values) > 0):
		return ClaimMapping{}, fmt.Errorf("kind: Fixed and Path are exclusive")
	case k.Fixed != "":
		if err := checkExternalKind(k.Fixed); err != nil {
			return ClaimMapping{}, err
		}
	case len(k.Path) == 0:
		return ClaimMapping{}, fmt.Errorf("kind: set Fixed or Path")
	default:
		if err := k.Path.validate(); err != nil {
			return ClaimMapping{}, fmt.Errorf("kind Path: %w", err)
		}
		if len(k.Values) == 0 {
			return ClaimMapping{}, fmt.Errorf("kind Values is required with Kind.Path")
		}
		values := make(map[string]tenancy.Kind, len(k.Values))
		for v, kind := range k.Values {
			if v == "" {
				return ClaimMapping{}, fmt.Errorf("kind Values maps the empty string")
			}
			if err := checkExternalKind(kind); err != nil {
				return ClaimMapping{}, err
			}
			values[v] = kind
		}
		m.Kind = KindClaim{Path: slices.Clone(k.Path), Values: values}
	}

	if len(m.Subject) == 0 {
		m.Subject = ClaimPath{"sub"}
	} else if err := m.Subject.validate(); err != nil {
		return ClaimMapping{}, fmt.Errorf("subject: %w", err)
	}
	m.Subject = slices.Clone(m.Subject)

	r := m.Roles
	switch {
	case len(r.Path) == 0 && (r.Form != RolesList || r.PerTenant):
		return ClaimMapping{}, fmt.Errorf("roles: Form or PerTenant without a Path")
	case len(r.Path) > 0:
		if err := r.Path.validate(); err != nil {
			return ClaimMapping{}, fmt.Errorf("roles Path: %w", err)
		}
		if r.Form != RolesList && r.Form != RolesMemberNames {
			return ClaimMapping{}, fmt.Errorf("roles Form %d unknown", r.Form)
		}
		if r.PerTenant && r.Form != RolesMemberNames {
			return ClaimMapping{}, fmt.Errorf("roles PerTenant is only for RolesMemberNames")
		}
	}
	m.Roles.Path = slices.Clone(r.Path)
	return m, nil
}

func checkExternalKind(k tenancy.Kind) error {
	if !k.Valid() {
		return fmt.Errorf("kind: %w: malformed kind", tenancy.ErrInvalidKind)
	}
	if k == tenancy.KindSystem {
		return fmt.Errorf("kind: %w: system principals get no tokens", tenancy.ErrInvalidKind)
	}
	return nil
}

// kinds returns every kind m can yield.
func (m ClaimMapping) kinds() []tenancy.Kind {
	if m.Kind.Fixed != "" {
		return []tenancy.Kind{m.Kind.Fixed}
	}
	var ks []tenancy.Kind
	for _, k := range m.Kind.Values {
		if !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// checkKinds reports whether every kind m can yield is declared in ps with
// tenant or subject access.
func (m ClaimMapping) checkKinds(ps tenancy.Principals) error {
	for _, k := range m.kinds() {
		switch ps.Access(k) {
		case tenancy.AccessTenant, tenancy.AccessSubject:
		case tenancy.AccessOperator:
			return fmt.Errorf("kind %q is an operator kind; operators act in a tenant only under the SDK's own audited grants", k)
		default:
			return fmt.Errorf("%w: kind %q is not declared", tenancy.ErrInvalidKind, k)
		}
	}
	return nil
}

// principal builds the principal c speaks for under m and ps. Failures
// wrap ErrTenant (the tenant claim) or ErrClaims (the others); they name
// claim paths, never claim values but the kind's.
func (m ClaimMapping) principal(c map[string]any, ps tenancy.Principals) (tenancy.Principal, error) {
	bad := func(format string, args ...any) (tenancy.Principal, error) {
		return tenancy.Principal{}, fmt.Errorf("%w: "+format, append([]any{ErrClaims}, args...)...)
	}
	kind := m.Kind.Fixed
	if kind == "" {
		v, ok := m.Kind.Path.lookup(c)
		if !ok {
			return bad("no kind claim %v", m.Kind.Path)
		}
		s, ok := v.(string)
		if !ok {
			return bad("kind claim %v is not a string", m.Kind.Path)
		}
		if kind, ok = m.Kind.Values[s]; !ok {
			return bad("kind claim %v value %q is not mapped to a kind", m.Kind.Path, truncate(s, 32))
		}
	}
	if a := ps.Access(kind); a != tenancy.AccessTenant && a != tenancy.AccessSubject {
		// New checked the mapping; this holds the line if it ever did not.
		return bad("kind %q is not a declared tenant or subject kind", kind)
	}

	v, ok := m.Subject.lookup(c)
	if !ok {
		return bad("no subject claim %v", m.Subject)
	}
	s, ok := v.(string)
	if !ok {
		return bad("subject claim %v is not a string", m.Subject)
	}
	subject, err := ps.SubjectKey.Parse(s)
	if err != nil {
		return bad("subject claim %v: %w", m.Subject, err)
	}

	tenantKey, err := m.Tenant.find(c)
	if err != nil {
		return tenancy.Principal{}, err
	}
	tenant, err := ps.TenantKey.Parse(tenantKey)
	if err != nil {
		return tenancy.Principal{}, fmt.Errorf("%w: tenant claim %v: %w", ErrTenant, m.Tenant.Path, err)
	}

	roles, err := m.Roles.find(c, tenantKey)
	if err != nil {
		return tenancy.Principal{}, err
	}
	return tenancy.Principal{Kind: kind, Tenant: tenant, Subject: subject, Roles: roles}, nil
}

// find returns the one tenant key in c, unparsed.
func (t TenantClaim) find(c map[string]any) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: tenant claim %v "+format, append([]any{ErrTenant, t.Path}, args...)...)
	}
	v, ok := t.Path.lookup(c)
	if !ok {
		return bad("absent")
	}
	switch t.Form {
	case TenantOnlyElement:
		list, ok := v.([]any)
		if !ok {
			return bad("is not a list")
		}
		if len(list) != 1 {
			return bad("holds %d tenants, want exactly one", len(list))
		}
		v = list[0]
	case TenantOnlyMember:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("is not an object")
		}
		if len(obj) != 1 {
			return bad("holds %d tenants, want exactly one", len(obj))
		}
		for name, member := range obj {
			if len(t.Field) == 0 {
				v = name
				break
			}
			inner, ok := member.(map[string]any)
			if !ok {
				return bad("member is not an object")
			}
			if v, ok = t.Field.lookup(inner); !ok {
				return bad("member has no field %v", t.Field)
			}
		}
	}
	s, ok := v.(string)
	if !ok {
		return bad("is not a string")
	}
	return s, nil // an empty key fails tenancy.KeyType.Parse
}

// find returns the roles in c; tenantKey is the tenant claim's raw key,
// for PerTenant.
func (r RolesClaim) find(c map[string]any, tenantKey string) ([]string, error) {
	if len(r.Path) == 0 {
		return nil, nil
	}
	bad := func(format string, args ...any) ([]string, error) {
		return nil, fmt.Errorf("%w: roles claim %v "+format, append([]any{ErrClaims, r.Path}, args...)...)
	}
	v, ok := r.Path.lookup(c)
	if !ok {
		return nil, nil
	}
	var roles []string
	switch r.Form {
	case RolesList:
		list, ok := v.([]any)
		if !ok {
			return bad("is not a list")
		}
		if len(list) > MaxExternalRoles {
			return bad("holds %d roles, more than %d", len(list), MaxExternalRoles)
		}
		roles = make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok || s == "" {
				return bad("holds a role that is not a non-empty string")
			}
			roles = append(roles, s)
		}
	case RolesMemberNames:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("is not an object")
		}
		if len(obj) > MaxExternalRoles {
			return bad("holds %d roles, more than %d", len(obj), MaxExternalRoles)
		}
		roles = make([]string, 0, len(obj))
		for name, grants := range obj {
			if name == "" {
				return bad("holds an empty role")
			}
			if r.PerTenant {
				g, ok := grants.(map[string]any)
				if !ok {
					return bad("role's value is not an object of tenants")
				}
				if _, ok := g[tenantKey]; !ok {
					continue // granted in another tenant only
				}
			}
			roles = append(roles, name)
		}
		slices.Sort(roles) // map order is random; a principal's roles are not
	}
	if len(roles) == 0 {
		return nil, nil
	}
	return slices.Clip(roles), nil
}
