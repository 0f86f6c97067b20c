package store

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// The platform admin console. A platform admin's own session has no
// tenant: the console reads and writes the clinic registry through
// tenantdb's System path (the platform role), each use recorded in the
// platform-wide audit chain with the admin as the actor, and reaches
// inside a clinic only to set up a new one, through tenantdb.InTenant.
// Everything else inside a clinic needs an impersonation
// grant (package audit).

// ErrNotPlatformAdmin is returned by the console's methods when the
// context does not carry a platform admin's own session: a staff member,
// a patient, or an admin impersonating a clinic (whose token has a
// tenant) may not use the console.
var ErrNotPlatformAdmin = errors.New("store: a platform admin's own session is required")

// consoleAdmin returns the platform admin in ctx, who must not be
// impersonating.
func consoleAdmin(ctx context.Context) (tenancy.Principal, error) {
	p, ok := tenancy.FromContext(ctx)
	if !ok || p.Kind != kinds.PlatformAdmin || p.HasTenant() || p.Impersonation != nil || p.Subject.IsZero() {
		return p, ErrNotPlatformAdmin
	}
	return p, nil
}

const clinicColumns = `id, name, status, time_zone, currency, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`

func scanClinic(row pgx.Row) (Clinic, error) {
	var c Clinic
	err := row.Scan(&c.ID, &c.Name, &c.Status, &c.TimeZone, &c.Currency, &c.CreatedAt)
	return c, err
}

// ListClinics returns the clinic registry, by name.
func (s *Store) ListClinics(ctx context.Context) ([]Clinic, error) {
	if _, err := consoleAdmin(ctx); err != nil {
		return nil, err
	}
	var list []Clinic
	err := s.db.System(ctx, "admin console: list clinics", func(tx *tenantdb.SystemTx) error {
		rows, err := tx.Query(ctx, `select `+clinicColumns+` from clinics order by name, id`)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Clinic, error) { return scanClinic(r) })
		return err
	})
	return list, wrap("list clinics", err)
}

// ClinicByID returns one clinic of the registry, or ErrNotFound.
func (s *Store) ClinicByID(ctx context.Context, id tenancy.ID) (Clinic, error) {
	if _, err := consoleAdmin(ctx); err != nil {
		return Clinic{}, err
	}
	var c Clinic
	err := s.db.System(ctx, "admin console: look up clinic "+id.String(), func(tx *tenantdb.SystemTx) error {
		var err error
		c, err = scanClinic(tx.QueryRow(ctx, `select `+clinicColumns+` from clinics where id = $1`, id))
		return notFound(err)
	})
	return c, wrap("clinic", err)
}

// ClinicInput is a new clinic.
type ClinicInput struct {
	Name     *string `json:"name"`
	TimeZone *string `json:"time_zone"`
	Currency *string `json:"currency"`
}

var clinicCurrency = regexp.MustCompile(`^[A-Z]{3}$`)

func (in *ClinicInput) validate() error {
	switch {
	case in.Name == nil:
		return invalid("name", "name is required")
	case in.TimeZone == nil:
		return invalid("time_zone", "time_zone is required")
	case in.Currency == nil:
		return invalid("currency", "currency is required")
	}
	name := strings.TrimSpace(*in.Name)
	in.Name = &name
	if err := textField("name", in.Name, 1, 200); err != nil {
		return err
	}
	if strings.ContainsAny(name, "\n\t") {
		return invalid("name", "name must be one line")
	}
	tz := *in.TimeZone
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" || len(tz) > 64 {
		return invalid("time_zone", "time_zone must be an IANA time zone, such as Europe/London")
	}
	if !clinicCurrency.MatchString(*in.Currency) {
		return invalid("currency", "currency must be an ISO 4217 code of three capital letters, such as GBP")
	}
	return nil
}

// CreateClinic adds a clinic to the registry, active, with empty settings
// (no opening hours yet) and its invoice counter.
//
// The registry row is written through System (the platform role) with a
// "clinic.create" event in the platform chain naming the admin; the
// settings and the counter are the clinic's own rows, written through
// tenantdb.InTenant, scoped to the new clinic and recorded in its chain,
// with a "clinic.create" event. These are two
// databases roles, so two transactions: should the second fail, the new
// clinic is suspended, so that no one can use it half made, and the error
// is returned.
func (s *Store) CreateClinic(ctx context.Context, in ClinicInput) (Clinic, error) {
	if _, err := consoleAdmin(ctx); err != nil {
		return Clinic{}, err
	}
	if err := in.validate(); err != nil {
		return Clinic{}, err
	}
	id := tenancy.NewID()
	var c Clinic
	err := s.db.System(ctx, "admin console: create clinic "+id.String(), func(tx *tenantdb.SystemTx) error {
		// PostgreSQL must know the zone too, since queries convert with it.
		var known bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from pg_timezone_names where name = $1)`, *in.TimeZone).Scan(&known); err != nil {
			return err
		}
		if !known {
			return invalid("time_zone", "time_zone must be an IANA time zone, such as Europe/London")
		}
		var err error
		c, err = scanClinic(tx.QueryRow(ctx, `insert into clinics (id, name, time_zone, currency) values ($1, $2, $3, $4)
			returning `+clinicColumns, id, *in.Name, *in.TimeZone, *in.Currency))
		if err != nil {
			return err
		}
		_, err = audit.Record(ctx, tx, audit.Event{Action: "clinic.create", ResourceType: "clinic", ResourceID: id.String(), Outcome: audit.Success})
		return err
	})
	if err != nil {
		return Clinic{}, wrap("create clinic", err)
	}
	err = s.db.InTenant(ctx, id, "admin console: set up clinic "+id.String(), func(sctx context.Context, tx *tenantdb.Tx) error {
		if _, err := tx.Exec(sctx, `insert into clinic_settings (clinic_id) values ($1)`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(sctx, `insert into invoice_counters (clinic_id) values ($1)`, id); err != nil {
			return err
		}
		return record(sctx, tx, "clinic.create", "clinic", id)
	})
	if err != nil {
		if _, serr := s.SuspendClinic(context.WithoutCancel(ctx), id); serr != nil {
			err = errors.Join(err, serr)
		}
		return Clinic{}, wrap("create clinic: set up", err)
	}
	return c, nil
}

// SuspendClinic suspends a clinic: its staff and patients can no longer
// sign in (sign-in requires an active clinic) and no new impersonation of
// it starts. Sessions already issued run out on their own. Suspending a
// suspended clinic changes nothing. It answers ErrNotFound for an unknown
// clinic.
func (s *Store) SuspendClinic(ctx context.Context, id tenancy.ID) (Clinic, error) {
	if _, err := consoleAdmin(ctx); err != nil {
		return Clinic{}, err
	}
	var c Clinic
	err := s.db.System(ctx, "admin console: suspend clinic "+id.String(), func(tx *tenantdb.SystemTx) error {
		var err error
		c, err = scanClinic(tx.QueryRow(ctx, `update clinics set status = 'suspended' where id = $1 returning `+clinicColumns, id))
		if err != nil {
			return notFound(err)
		}
		_, err = audit.Record(ctx, tx, audit.Event{Action: "clinic.suspend", ResourceType: "clinic", ResourceID: id.String(), Outcome: audit.Success})
		return err
	})
	return c, wrap("suspend clinic", err)
}

// ImpersonationGrant is what the console needs to know of a grant to end
// it.
type ImpersonationGrant struct {
	ID        tenancy.ID
	ClinicID  tenancy.ID
	AdminID   tenancy.ID
	ExpiresAt time.Time
	Ended     bool
}

// ImpersonationGrant returns the impersonation grant id, of any clinic, or
// ErrNotFound.
func (s *Store) ImpersonationGrant(ctx context.Context, id tenancy.ID) (ImpersonationGrant, error) {
	if _, err := consoleAdmin(ctx); err != nil {
		return ImpersonationGrant{}, err
	}
	g := ImpersonationGrant{ID: id}
	err := s.db.System(ctx, "admin console: look up impersonation grant "+id.String(), func(tx *tenantdb.SystemTx) error {
		err := tx.QueryRow(ctx, `select tenant_id, admin_id, expires_at, ended_at is not null from audit.impersonation_grants where id = $1`, id).
			Scan(&g.ClinicID, &g.AdminID, &g.ExpiresAt, &g.Ended)
		return notFound(err)
	})
	return g, wrap("impersonation grant", err)
}
