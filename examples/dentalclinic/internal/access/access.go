// Package access is the reference app's one table of who may do what:
// the permission of every API route and every web page, which the API and
// the web UI both read, and which the tests use as their oracle. Deny by
// default: a route admits only the principals its Allow lists.
package access

import (
	"context"
	"slices"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// Allow says who may reach a route or a page. Public admits anyone, no
// token needed. Otherwise Kinds lists the principal kinds admitted, and
// Roles, when set, further requires one of these roles (for staff, and
// for an impersonating platform admin, who acts as "support"); a platform
// admin's own session (no clinic) has no roles and reaches no route that
// names some. Console admits only a platform admin's own session, signed
// in with a session token (no clinic, no impersonation).
type Allow struct {
	Public  bool
	Console bool
	Kinds   []tenancy.Kind
	Roles   []string
}

// Permits reports whether the verified principal of ctx passes a (and, for
// Console, holds a session token).
func (a Allow) Permits(ctx context.Context) bool {
	if a.Public {
		return true
	}
	p, ok := tenancy.FromContext(ctx)
	if !ok {
		return false
	}
	if a.Console {
		tok, ok := jwtctx.TokenFromContext(ctx)
		if !ok || tok.Type != jwtctx.SessionToken {
			return false
		}
	}
	return a.Admits(p)
}

// Admits reports whether principal p passes a, the token aside.
func (a Allow) Admits(p tenancy.Principal) bool {
	switch {
	case a.Public:
		return true
	case !slices.Contains(a.Kinds, p.Kind):
		return false
	case a.Console:
		return p.Kind == kinds.PlatformAdmin && !p.HasTenant() && p.Impersonation == nil
	case len(a.Roles) == 0:
		return true
	case p.Kind == kinds.PlatformAdmin && !p.HasTenant():
		return false // an admin's own session reaches no clinic's route
	}
	return slices.ContainsFunc(p.Roles, func(role string) bool { return slices.Contains(a.Roles, role) })
}

// StaffKinds are the kinds that reach staff routes: staff, and a platform
// admin impersonating a clinic.
var StaffKinds = []tenancy.Kind{kinds.Staff, kinds.PlatformAdmin}

// Who may do what.
var (
	// Public needs no token: sign-in, health, the key set.
	Public = Allow{Public: true}
	// SignedIn is any verified principal.
	SignedIn = Allow{Kinds: []tenancy.Kind{kinds.Staff, kinds.Patient, kinds.PlatformAdmin}}
	// AnyStaff is every staff role: reading the settings, chairs, fees,
	// staff list.
	AnyStaff = Allow{Kinds: StaffKinds, Roles: []string{"owner", "dentist", "hygienist", "front_desk", "billing", "support"}}
	// Clinical reads and writes patients' charts and prescriptions.
	Clinical = Allow{Kinds: StaffKinds, Roles: []string{"owner", "dentist", "hygienist", "front_desk", "support"}}
	// Booking books appointments.
	Booking = Allow{Kinds: StaffKinds, Roles: []string{"owner", "dentist", "front_desk", "support"}}
	// ApptUpdating changes appointments.
	ApptUpdating = Allow{Kinds: StaffKinds, Roles: []string{"owner", "dentist", "hygienist", "front_desk", "support"}}
	// BillingReaders read invoices; BillingWriters write them.
	BillingReaders = Allow{Kinds: StaffKinds, Roles: []string{"owner", "billing", "front_desk", "support"}}
	BillingWriters = Allow{Kinds: StaffKinds, Roles: []string{"owner", "billing", "support"}}
	// Prescribers write prescriptions: staff with the prescriber's role,
	// never an impersonating admin.
	Prescribers = Allow{Kinds: []tenancy.Kind{kinds.Staff}, Roles: []string{store.PrescriberRole}}
	// RxReaders read prescriptions.
	RxReaders = Clinical
	// ClinicAdmin changes the clinic's settings, chairs, fees and staff:
	// its owners, and an impersonating admin.
	ClinicAdmin = Allow{Kinds: StaffKinds, Roles: []string{"owner", "support"}}
	// Owner is the clinic's owners only: its audit log, its exports
	// (which an impersonating admin may not take).
	Owner = Allow{Kinds: []tenancy.Kind{kinds.Staff}, Roles: []string{"owner"}}
	// PortalInviters issue portal invite codes.
	PortalInviters = Allow{Kinds: []tenancy.Kind{kinds.Staff}, Roles: []string{"owner", "front_desk"}}
	// PortalPatient is a patient signed in to the portal.
	PortalPatient = Allow{Kinds: []tenancy.Kind{kinds.Patient}}
	// PlatformConsole is a platform admin's own session.
	PlatformConsole = Allow{Kinds: []tenancy.Kind{kinds.PlatformAdmin}, Console: true}
	// Impersonating is a platform admin, in an impersonation or not: the
	// end of an impersonation.
	Impersonating = Allow{Kinds: []tenancy.Kind{kinds.PlatformAdmin}}
)
