package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// StaffMember is one staff account at one clinic. The password hash never
// leaves the store.
type StaffMember struct {
	ID        tenancy.ID `json:"id"`
	ClinicID  tenancy.ID `json:"clinic_id"`
	Email     string     `json:"email"`
	Name      string     `json:"name"`
	Roles     []string   `json:"roles"`
	Disabled  bool       `json:"disabled"`
	CreatedAt time.Time  `json:"created_at"`
}

// AccountRoles are the roles a staff account may hold, in display order.
// (An impersonating platform admin's "support" role is never stored.)
var AccountRoles = []string{"owner", "dentist", "hygienist", "front_desk", "billing"}

// StaffInput is a new staff account.
type StaffInput struct {
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	Password string   `json:"password"`
}

// StaffUpdate changes a staff account; fields left out keep their values.
// Password, when given, replaces the account's password.
type StaffUpdate struct {
	Name     *string   `json:"name"`
	Roles    *[]string `json:"roles"`
	Disabled *bool     `json:"disabled"`
	Password *string   `json:"password"`
}

const staffColumns = `id, clinic_id, email, name, roles, disabled, created_at`

func scanStaff(row pgx.Row) (StaffMember, error) {
	var m StaffMember
	err := row.Scan(&m.ID, &m.ClinicID, &m.Email, &m.Name, &m.Roles, &m.Disabled, &m.CreatedAt)
	return m, err
}

// canonicalRoles checks roles and returns them without duplicates, in
// AccountRoles order.
func canonicalRoles(roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, invalid("roles", "a staff account needs at least one role")
	}
	var out []string
	for _, r := range AccountRoles {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	for _, r := range roles {
		if !slices.Contains(AccountRoles, r) {
			return nil, invalid("roles", "roles are among "+strings.Join(AccountRoles, ", "))
		}
	}
	return out, nil
}

// staffEmail lower-cases and checks an email address.
func staffEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if err := textField("email", &e, 3, 254); err != nil {
		return "", err
	}
	if !emailShaped(e) {
		return "", invalid("email", "email is not an email address")
	}
	return e, nil
}

// emailShaped reports whether s looks like an address: one @ with text on
// both sides, a dot in the domain, and none of RFC 5322's specials or
// white space, which no address people type needs and which belong to
// markup and to quoting ("<a>", "x'; --" with its space).
func emailShaped(s string) bool {
	at := strings.IndexByte(s, '@')
	return at >= 1 && at == strings.LastIndexByte(s, '@') && at < len(s)-1 &&
		strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t\n\r<>()[]\\,;:\"")
}

func checkPassword(pw string) error {
	if len(pw) < passwords.MinLength || len(pw) > passwords.MaxLength {
		return invalid("password", "password must be "+itoa(passwords.MinLength)+" to "+itoa(passwords.MaxLength)+" bytes")
	}
	return nil
}

// emailTaken maps the unique email violation to a conflict.
func emailTaken(err error) error {
	if code, name := constraint(err); code == "23505" && name == "staff_clinic_id_email_key" {
		return conflict("email_taken", "Another account at this clinic already uses this email.")
	}
	return err
}

// ListStaff returns the caller's clinic's staff ordered by name.
func (s *Store) ListStaff(ctx context.Context) ([]StaffMember, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `select `+staffColumns+` from staff where clinic_id = $1 order by lower(name), id`, p.Tenant)
	if err != nil {
		return nil, wrap("list staff", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StaffMember, error) { return scanStaff(r) })
	return list, wrap("list staff", err)
}

// CreateStaff adds a staff account to the caller's clinic, with the email
// lower-cased and the password hashed (argon2id). ErrConflict
// "email_taken" if the clinic already has an account with the email.
func (s *Store) CreateStaff(ctx context.Context, in StaffInput) (StaffMember, error) {
	p, err := tenant(ctx)
	if err != nil {
		return StaffMember{}, err
	}
	email, err := staffEmail(in.Email)
	if err != nil {
		return StaffMember{}, err
	}
	name := strings.TrimSpace(in.Name)
	if err := textField("name", &name, 1, 200); err != nil {
		return StaffMember{}, err
	}
	roles, err := canonicalRoles(in.Roles)
	if err != nil {
		return StaffMember{}, err
	}
	if err := checkPassword(in.Password); err != nil {
		return StaffMember{}, err
	}
	hash, err := passwords.Hash(in.Password)
	if err != nil {
		return StaffMember{}, wrap("create staff", err)
	}
	var m StaffMember
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		m, err = scanStaff(tx.QueryRow(ctx, `insert into staff (clinic_id, id, email, name, roles, password_hash)
			values ($1, $2, $3, $4, $5, $6) returning `+staffColumns, p.Tenant, tenancy.NewID(), email, name, roles, hash))
		if err != nil {
			return emailTaken(err)
		}
		return record(ctx, tx, "staff.create", "staff", m.ID)
	})
	return m, wrap("create staff", err)
}

// UpdateStaff changes a staff account of the caller's clinic. Nobody may
// disable their own account ("cannot_disable_self"), and the clinic keeps
// at least one enabled owner ("last_owner"): the enabled owners are
// locked, in id order, before the check, so two owners demoting each
// other at once cannot both succeed. A change of the roles, the password
// or whether the account is disabled ends the member's sessions at once
// (their tokens carry the old roles); an error after the change is saved
// says so, and sending the change again ends them.
func (s *Store) UpdateStaff(ctx context.Context, id tenancy.ID, in StaffUpdate) (StaffMember, error) {
	p, err := tenant(ctx)
	if err != nil {
		return StaffMember{}, err
	}
	if s.revoker == nil {
		return StaffMember{}, errNoRevoker
	}
	var name *string
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if err := textField("name", &n, 1, 200); err != nil {
			return StaffMember{}, err
		}
		name = &n
	}
	var roles []string
	if in.Roles != nil {
		if roles, err = canonicalRoles(*in.Roles); err != nil {
			return StaffMember{}, err
		}
	}
	var hash *string
	if in.Password != nil {
		if err := checkPassword(*in.Password); err != nil {
			return StaffMember{}, err
		}
		h, err := passwords.Hash(*in.Password)
		if err != nil {
			return StaffMember{}, wrap("update staff", err)
		}
		hash = &h
	}
	if in.Disabled != nil && *in.Disabled && id == p.Subject {
		return StaffMember{}, conflict("cannot_disable_self", "You cannot disable your own account.")
	}
	var out StaffMember
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var owners []tenancy.ID
		if in.Roles != nil || in.Disabled != nil {
			rows, err := tx.Query(ctx, `select id from staff where clinic_id = $1 and 'owner' = any(roles) and not disabled
				order by id for update`, p.Tenant)
			if err != nil {
				return err
			}
			if owners, err = pgx.CollectRows(rows, pgx.RowTo[tenancy.ID]); err != nil {
				return err
			}
		}
		cur, err := scanStaff(tx.QueryRow(ctx, `select `+staffColumns+` from staff where clinic_id = $1 and id = $2 for update`, p.Tenant, id))
		if err != nil {
			return notFound(err)
		}
		wasOwner := slices.Contains(cur.Roles, "owner") && !cur.Disabled
		isOwner := slices.Contains(cur.Roles, "owner") && !cur.Disabled
		if roles != nil {
			isOwner = slices.Contains(roles, "owner") && !cur.Disabled
		}
		if in.Disabled != nil && *in.Disabled {
			isOwner = false
		}
		if wasOwner && !isOwner && !slices.ContainsFunc(owners, func(o tenancy.ID) bool { return o != id }) {
			return conflict("last_owner", "The clinic needs at least one enabled owner; make someone else an owner first.")
		}
		out, err = scanStaff(tx.QueryRow(ctx, `update staff set name = coalesce($3, name), roles = coalesce($4, roles),
			disabled = coalesce($5, disabled), password_hash = coalesce($6, password_hash)
			where clinic_id = $1 and id = $2 returning `+staffColumns, p.Tenant, id, name, roles, in.Disabled, hash))
		if err != nil {
			return err
		}
		return record(ctx, tx, "staff.update", "staff", id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = notFound(err)
	}
	if err == nil && (in.Disabled != nil || in.Roles != nil || in.Password != nil) {
		err = s.endSessions(ctx, id)
	}
	return out, wrap("update staff", err)
}

// StaffStanding returns the roles of the caller's own staff account and
// whether it is disabled, or ErrNotFound when the caller's subject is no
// staff account of the clinic. The API asks it for principals that an
// external identity provider vouched for: the provider authenticates them,
// the clinic's staff list says what they may do.
func (s *Store) StaffStanding(ctx context.Context) (roles []string, disabled bool, err error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, false, err
	}
	err = s.db.QueryRow(ctx, `select roles, disabled from staff where clinic_id = $1 and id = $2`, p.Tenant, p.Subject).Scan(&roles, &disabled)
	return roles, disabled, wrap("read the staff account", notFound(err))
}
