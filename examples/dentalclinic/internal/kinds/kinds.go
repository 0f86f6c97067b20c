// Package kinds declares the reference app's principal kinds: clinic staff,
// patients in the portal, and platform admins. The SDK knows none of them;
// the app's isolation model (package migrations) declares them, and token
// verification and the database pool read that declaration.
package kinds

import "github.com/mydentalpractice/tenancy"

// The app's principal kinds.
const (
	// Staff are members of a clinic's staff: they see the clinic's rows
	// that their roles allow.
	Staff tenancy.Kind = "staff"
	// Patient is a patient signed in to one clinic's portal: the database
	// limits them to their own rows, and they write none of the clinic's
	// records.
	Patient tenancy.Kind = "patient"
	// PlatformAdmin is an operator of the platform: no clinic of their own,
	// they enter one only through an audited impersonation grant.
	PlatformAdmin tenancy.Kind = "platform_admin"
)

// Specs returns the declaration of the app's kinds, for the model's
// rls.Config.Kinds.
func Specs() []tenancy.KindSpec {
	return []tenancy.KindSpec{
		{Name: Staff, Access: tenancy.AccessTenant},
		{Name: Patient, Access: tenancy.AccessSubject},
		{Name: PlatformAdmin, Access: tenancy.AccessOperator},
	}
}
