package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// StaffAccount is what staff sign-in needs to know about one account.
type StaffAccount struct {
	ClinicID     tenancy.ID
	ClinicName   string
	ClinicStatus string
	StaffID      tenancy.ID
	Roles        []string
	PasswordHash string
	Disabled     bool
}

// StaffAccounts returns every staff account with this email, at any
// clinic, through the auth.staff_accounts sign-in function (there is no
// tenant before sign-in), called through tenantdb's pre-auth handle: its
// columns, in order, are those scanned here.
func (s *Store) StaffAccounts(ctx context.Context, email string) ([]StaffAccount, error) {
	rows, err := s.db.PreAuth().Query(ctx, "auth.staff_accounts", email)
	if err != nil {
		return nil, wrap("staff accounts", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StaffAccount, error) {
		var a StaffAccount
		err := r.Scan(&a.ClinicID, &a.ClinicName, &a.ClinicStatus, &a.StaffID, &a.Roles, &a.PasswordHash, &a.Disabled)
		return a, err
	})
	return list, wrap("staff accounts", err)
}

// PortalAccount is what patient sign-in needs to know about one account.
type PortalAccount struct {
	ClinicID     tenancy.ID
	ClinicName   string
	ClinicStatus string
	AccountID    tenancy.ID
	PatientID    tenancy.ID
	PasswordHash string
	Disabled     bool
}

// PortalAccounts returns every portal account with this email, at any
// clinic, through the auth.portal_accounts sign-in function.
func (s *Store) PortalAccounts(ctx context.Context, email string) ([]PortalAccount, error) {
	rows, err := s.db.PreAuth().Query(ctx, "auth.portal_accounts", email)
	if err != nil {
		return nil, wrap("portal accounts", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PortalAccount, error) {
		var a PortalAccount
		err := r.Scan(&a.ClinicID, &a.ClinicName, &a.ClinicStatus, &a.AccountID, &a.PatientID, &a.PasswordHash, &a.Disabled)
		return a, err
	})
	return list, wrap("portal accounts", err)
}

// PlatformAdmin is what admin sign-in needs to know.
type PlatformAdmin struct {
	ID           tenancy.ID
	Name         string
	PasswordHash string
	Disabled     bool
}

// PlatformAdminByEmail returns the platform admin with this email, or
// ErrNotFound.
func (s *Store) PlatformAdminByEmail(ctx context.Context, email string) (PlatformAdmin, error) {
	var a PlatformAdmin
	err := s.db.PreAuth().QueryRow(ctx, "auth.platform_admin", email).
		Scan(&a.ID, &a.Name, &a.PasswordHash, &a.Disabled)
	return a, wrap("platform admin", notFound(err))
}

// Clinic is a clinic in the registry.
type Clinic struct {
	ID        tenancy.ID `json:"id"`
	Name      string     `json:"name"`
	Status    string     `json:"status"`
	TimeZone  string     `json:"time_zone"`
	Currency  string     `json:"currency"`
	CreatedAt string     `json:"created_at"`
}

// CurrentClinic returns the caller's clinic from the registry.
func (s *Store) CurrentClinic(ctx context.Context) (Clinic, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Clinic{}, err
	}
	var c Clinic
	err = s.db.QueryRow(ctx, `select id, name, status, time_zone, currency, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
		from clinics where id = $1`, p.Tenant).Scan(&c.ID, &c.Name, &c.Status, &c.TimeZone, &c.Currency, &c.CreatedAt)
	return c, wrap("current clinic", notFound(err))
}
