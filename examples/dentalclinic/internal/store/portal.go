package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// The patient portal. A portal principal is kind patient, tenant the
// clinic, subject the patient's id at that clinic: row-level security
// shows it only the rows of that one patient record (migrations.Tables),
// and every query here also names the patient, so that the SQL and the
// database agree. A patient enrolled at two clinics has two accounts and
// two sessions, never one that spans clinics.

// PortalInviteTTL is how long a portal invite code stays valid.
const PortalInviteTTL = 7 * 24 * time.Hour

// portalCodeBytes is the randomness of an invite code: 120 bits.
const portalCodeBytes = 15

var portalCodeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// PortalInvite is a new invite code. The code is shown once; only its
// SHA-256 is stored.
type PortalInvite struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// normalizePortalCode reads a code as people type it: case, spaces and
// dashes do not matter. ok is false when it cannot be a code at all.
func normalizePortalCode(code string) (string, bool) {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	b, err := portalCodeEncoding.DecodeString(c)
	return c, err == nil && len(b) == portalCodeBytes
}

// portalCodeHash is the stored form of a normalized code: lower-case hex
// SHA-256, what auth.portal_invite looks up.
func portalCodeHash(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(sum[:])
}

// CreatePortalInvite issues an invite code for a patient of the caller's
// clinic, valid for PortalInviteTTL, and expires the patient's older
// unused codes. It answers ErrNotFound for a patient not on the clinic's
// books, ErrInvalid for an archived one and ErrConflict
// "already_enrolled" when the patient has a portal account already.
func (s *Store) CreatePortalInvite(ctx context.Context, patient tenancy.ID) (PortalInvite, error) {
	p, err := tenant(ctx)
	if err != nil {
		return PortalInvite{}, err
	}
	raw := make([]byte, portalCodeBytes)
	if _, err := rand.Read(raw); err != nil {
		return PortalInvite{}, wrap("portal invite", err)
	}
	enc := portalCodeEncoding.EncodeToString(raw)
	var groups []string
	for i := 0; i < len(enc); i += 4 {
		groups = append(groups, enc[i:min(i+4, len(enc))])
	}
	inv := PortalInvite{Code: strings.Join(groups, "-")}
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var status string
		var enrolled bool
		err := tx.QueryRow(ctx, `select p.status, exists (select 1 from portal_accounts a where a.clinic_id = $1 and a.patient_id = p.id)
			from patients p where p.clinic_id = $1 and p.id = $2`, p.Tenant, patient).Scan(&status, &enrolled)
		switch {
		case err != nil:
			return notFound(err)
		case status == "archived":
			return invalid("patient_id", "This patient's record is archived; reactivate it first.")
		case enrolled:
			return conflict("already_enrolled", "This patient already has a portal account at this clinic.")
		}
		if _, err := tx.Exec(ctx, `update portal_invites set expires_at = now()
			where clinic_id = $1 and patient_id = $2 and used_at is null and expires_at > now()`, p.Tenant, patient); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `insert into portal_invites (clinic_id, code_hash, patient_id, expires_at)
			values ($1, $2, $3, now() + make_interval(secs => $4)) returning expires_at`,
			p.Tenant, portalCodeHash(enc), patient, PortalInviteTTL.Seconds()).Scan(&inv.ExpiresAt); err != nil {
			return err
		}
		return record(ctx, tx, "portal_invite.create", "patient", patient)
	})
	inv.ExpiresAt = inv.ExpiresAt.UTC()
	return inv, wrap("portal invite", err)
}

// errPortalInvite is the one answer for an invite code that is unknown,
// mistyped, used or expired, so that none can be told from another.
var errPortalInvite = &Error{Kind: ErrInvalid, Field: "code", Code: "invalid_invite",
	Msg: "This invite code cannot be used. Check it, or ask the clinic for a new one."}

// PortalEnrolment is a new portal account.
type PortalEnrolment struct {
	ClinicID  tenancy.ID `json:"clinic_id"`
	PatientID tenancy.ID `json:"patient_id"`
	Email     string     `json:"email"`
}

// portalEmail checks and lower-cases a portal sign-in email.
func portalEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	at := strings.IndexByte(e, '@')
	if len(e) < 3 || len(e) > 254 || at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n") {
		return "", invalid("email", "email is not an email address")
	}
	if err := textField("email", &e, 3, 254); err != nil {
		return "", err
	}
	return e, nil
}

// EnrolPortal creates the portal account that an invite code allows, with
// email and password, and uses up the code. It needs no principal: the
// code names the clinic and the patient, through auth.portal_invite (by
// hash, through tenantdb's pre-auth handle), and the account is written
// through tenantdb.InTenant, scoped to that clinic and recorded in its
// audit chain, in one transaction with marking the code used
// (auth.use_portal_invite), so a code enrols once even when two requests
// race.
//
// An unknown, used or expired code answers the same ErrInvalid (code
// "invalid_invite"). A password shorter than passwords.MinLength or an
// email that is not one answers ErrInvalid naming the field; an email
// already enrolled at that clinic ErrConflict "email_taken".
func (s *Store) EnrolPortal(ctx context.Context, code, email, password string) (PortalEnrolment, error) {
	email, err := portalEmail(email)
	if err != nil {
		return PortalEnrolment{}, err
	}
	if len(password) < passwords.MinLength || len(password) > passwords.MaxLength {
		return PortalEnrolment{}, invalid("password", "password must be "+itoa(passwords.MinLength)+" to "+itoa(passwords.MaxLength)+" bytes long")
	}
	normalized, ok := normalizePortalCode(code)
	if !ok {
		return PortalEnrolment{}, errPortalInvite
	}
	hash := portalCodeHash(normalized)
	var clinic, patient tenancy.ID
	var expires time.Time
	var used *time.Time
	err = s.db.PreAuth().QueryRow(ctx, "auth.portal_invite", hash).
		Scan(&clinic, &patient, &expires, &used)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return PortalEnrolment{}, errPortalInvite
	case err != nil:
		return PortalEnrolment{}, wrap("portal enrol", err)
	case used != nil || !expires.After(time.Now()):
		return PortalEnrolment{}, errPortalInvite
	}
	pwHash, err := passwords.Hash(password)
	if err != nil {
		return PortalEnrolment{}, wrap("portal enrol", err)
	}
	// The account is written through tenantdb's InTenant entry point, as a
	// system principal scoped to the code's clinic, with no role, and the
	// use is recorded in the clinic's audit chain in the same transaction.
	// auth.use_portal_invite marks the invite used in that transaction
	// too, so a failed insert leaves the code usable and two racing
	// requests enrol once.
	out := PortalEnrolment{ClinicID: clinic, PatientID: patient, Email: email}
	err = s.db.InTenant(ctx, clinic, "portal enrolment by invite code", func(sctx context.Context, tx *tenantdb.Tx) error {
		var usedClinic, usedPatient tenancy.ID
		err := tx.QueryRow(sctx, `select clinic_id, patient_id from auth.use_portal_invite($1)`, hash).Scan(&usedClinic, &usedPatient)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return errPortalInvite
		case err != nil:
			return err
		case usedClinic != clinic || usedPatient != patient:
			return errPortalInvite
		}
		id := tenancy.NewID()
		if _, err := tx.Exec(sctx, `insert into portal_accounts (clinic_id, id, patient_id, email, password_hash)
			values ($1, $2, $3, $4, $5)`, clinic, id, patient, email, pwHash); err != nil {
			code, name := constraint(err)
			switch {
			case code == "23505" && strings.Contains(name, "email"):
				return conflict("email_taken", "This email already has a portal account at this clinic; sign in instead.")
			case code == "23505":
				return conflict("already_enrolled", "This patient already has a portal account at this clinic; sign in instead.")
			}
			return err
		}
		return record(sctx, tx, "portal_account.create", "portal_account", id)
	})
	return out, wrap("portal enrol", err)
}

// patientSelf returns the caller's clinic and patient id: the principal
// must be a patient.
func patientSelf(ctx context.Context) (clinic, patient tenancy.ID, err error) {
	p, err := tenant(ctx)
	if err != nil {
		return clinic, patient, err
	}
	if p.Kind != kinds.Patient || p.Subject.IsZero() {
		return clinic, patient, &Error{Kind: ErrNotFound, Msg: "not found", Code: "not_found"}
	}
	return p.Tenant, p.Subject, nil
}

// PortalMe returns the signed-in patient's own record at the clinic.
// Opening one's own chart is recorded like any chart access.
func (s *Store) PortalMe(ctx context.Context) (Patient, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return Patient{}, err
	}
	return viewRecord(ctx, s, "portal me", `select `+patientColumns+` from patients where clinic_id = $1 and id = $2`,
		scanPatient, "patient.view", "patient", clinic, self)
}

// PortalContact is what a patient may change about themselves: contact
// details only. Fields left out keep their value.
type PortalContact struct {
	Phone   *string `json:"phone"`
	Email   *string `json:"email"`
	Address *string `json:"address"`
}

// UpdatePortalMe changes the signed-in patient's contact details.
func (s *Store) UpdatePortalMe(ctx context.Context, in PortalContact) (Patient, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return Patient{}, err
	}
	if err := (PatientInput{Phone: in.Phone, Email: in.Email, Address: in.Address}).validate(false); err != nil {
		return Patient{}, err
	}
	var pt Patient
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		pt, err = scanPatient(tx.QueryRow(ctx, `update patients set
			phone = coalesce($3, phone), email = coalesce($4, email), address = coalesce($5, address), updated_at = now()
			where clinic_id = $1 and id = $2
			returning `+patientColumns, clinic, self, in.Phone, in.Email, in.Address))
		if err != nil {
			return notFound(err)
		}
		return record(ctx, tx, "patient.update", "patient", self)
	})
	return pt, wrap("portal update me", err)
}

// PortalAppointment is one of the patient's own appointments, as the
// portal shows it: no staff notes. Times are UTC instants with the same
// instants as wall-clock times in the clinic's zone.
type PortalAppointment struct {
	ID          tenancy.ID `json:"id"`
	ClinicID    tenancy.ID `json:"clinic_id"`
	PatientID   tenancy.ID `json:"patient_id"`
	DentistID   tenancy.ID `json:"dentist_id"`
	OperatoryID tenancy.ID `json:"operatory_id"`
	Operatory   string     `json:"operatory"`
	StartsAt    time.Time  `json:"starts_at"`
	EndsAt      time.Time  `json:"ends_at"`
	DurationMin int        `json:"duration_min"`
	LocalStart  string     `json:"local_start"`
	LocalEnd    string     `json:"local_end"`
	TimeZone    string     `json:"time_zone"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
}

const portalAppointmentSelect = `select a.id, a.clinic_id, a.patient_id, a.dentist_id, a.operatory_id, o.name, a.starts_at, a.ends_at,
	a.type, a.status, c.time_zone
	from appointments a join clinics c on c.id = a.clinic_id
	join operatories o on o.clinic_id = a.clinic_id and o.id = a.operatory_id and o.clinic_id = $1
	where a.clinic_id = $1 and a.patient_id = $2`

const portalLocalLayout = "2006-01-02T15:04:05"

func scanPortalAppointment(row pgx.Row) (PortalAppointment, error) {
	var a PortalAppointment
	if err := row.Scan(&a.ID, &a.ClinicID, &a.PatientID, &a.DentistID, &a.OperatoryID, &a.Operatory, &a.StartsAt, &a.EndsAt,
		&a.Type, &a.Status, &a.TimeZone); err != nil {
		return a, err
	}
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		return a, err
	}
	a.StartsAt, a.EndsAt = a.StartsAt.UTC(), a.EndsAt.UTC()
	a.DurationMin = int(a.EndsAt.Sub(a.StartsAt) / time.Minute)
	a.LocalStart, a.LocalEnd = a.StartsAt.In(loc).Format(portalLocalLayout), a.EndsAt.In(loc).Format(portalLocalLayout)
	return a, nil
}

// PortalPage asks for a page of a portal list.
type PortalPage struct {
	// Cursor is the cursor of the page to read, as the previous page
	// returned it; "" for the first page.
	Cursor string
	// Limit is the number of entries a page holds at most (a default
	// when 0, capped at the store's largest page).
	Limit int
}

// PortalAppointments returns the signed-in patient's appointments at the
// clinic, by start time, a page at a time.
func (s *Store) PortalAppointments(ctx context.Context, pg PortalPage) ([]PortalAppointment, string, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return nil, "", err
	}
	var after struct {
		S  time.Time
		ID tenancy.ID
	}
	if err := decodeCursor(pg.Cursor, &after); err != nil {
		return nil, "", err
	}
	limit := pageLimit(pg.Limit)
	args := []any{clinic, self}
	where := ""
	ks := keyset{cols: []string{"a.starts_at", "a.id"}}
	if !after.ID.IsZero() {
		where, args = ks.after(args, after.S, after.ID)
	}
	return queryPage(ctx, s, "portal appointments", portalAppointmentSelect+where, args, ks, limit,
		func(r pgx.CollectableRow) (PortalAppointment, error) { return scanPortalAppointment(r) },
		func(last PortalAppointment) any {
			after.S, after.ID = last.StartsAt, last.ID
			return after
		})
}

// PortalAppointment returns one of the signed-in patient's appointments;
// anyone else's is ErrNotFound, exactly like a missing one.
func (s *Store) PortalAppointment(ctx context.Context, id tenancy.ID) (PortalAppointment, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return PortalAppointment{}, err
	}
	a, err := scanPortalAppointment(s.db.QueryRow(ctx, portalAppointmentSelect+` and a.id = $3`, clinic, self, id))
	return a, wrap("portal appointment", notFound(err))
}

// PortalInvoice is one of the patient's invoices with its balance, which
// is computed from the payments, never stored. Drafts are not shown: they
// are the clinic's work in progress.
type PortalInvoice struct {
	ID           tenancy.ID          `json:"id"`
	ClinicID     tenancy.ID          `json:"clinic_id"`
	PatientID    tenancy.ID          `json:"patient_id"`
	Number       int                 `json:"number"`
	Currency     string              `json:"currency"`
	Status       string              `json:"status"` // issued, partly_paid, paid or void
	TotalMinor   int64               `json:"total_minor"`
	PaidMinor    int64               `json:"paid_minor"`
	BalanceMinor int64               `json:"balance_minor"`
	IssuedAt     *time.Time          `json:"issued_at"`
	VoidedAt     *time.Time          `json:"voided_at"`
	Lines        []PortalInvoiceLine `json:"lines,omitempty"`
	// Payments are the payments received against the invoice, in the
	// order received; set by PortalInvoice only.
	Payments []PortalPayment `json:"payments,omitempty"`
}

// PortalPayment is one payment the patient made against an invoice.
type PortalPayment struct {
	ID          tenancy.ID `json:"id"`
	ClinicID    tenancy.ID `json:"clinic_id"`
	AmountMinor int64      `json:"amount_minor"`
	Method      string     `json:"method"`
	ReceivedAt  time.Time  `json:"received_at"`
}

// PortalInvoiceLine is one line of an invoice.
type PortalInvoiceLine struct {
	LineNo         int    `json:"line_no"`
	Code           string `json:"code"`
	Description    string `json:"description"`
	Quantity       int    `json:"quantity"`
	UnitPriceMinor int64  `json:"unit_price_minor"`
	AmountMinor    int64  `json:"amount_minor"`
}

const portalInvoiceSelect = `select i.id, i.clinic_id, i.patient_id, i.number, i.currency, i.status, i.total_minor, i.issued_at, i.voided_at,
	coalesce((select sum(p.amount_minor) from payments p where p.clinic_id = $1 and p.invoice_id = i.id), 0)::bigint
	from invoices i where i.clinic_id = $1 and i.patient_id = $2 and i.status <> 'draft'`

func scanPortalInvoice(row pgx.Row) (PortalInvoice, error) {
	var v PortalInvoice
	var status string
	err := row.Scan(&v.ID, &v.ClinicID, &v.PatientID, &v.Number, &v.Currency, &status, &v.TotalMinor, &v.IssuedAt, &v.VoidedAt, &v.PaidMinor)
	if err != nil {
		return v, err
	}
	v.Status = status
	if status == "issued" {
		v.BalanceMinor = v.TotalMinor - v.PaidMinor
		switch {
		case v.BalanceMinor <= 0:
			v.Status = "paid"
		case v.PaidMinor > 0:
			v.Status = "partly_paid"
		}
	}
	for _, t := range []*time.Time{v.IssuedAt, v.VoidedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return v, nil
}

// PortalInvoices returns the signed-in patient's invoices at the clinic,
// newest number first, with balances.
func (s *Store) PortalInvoices(ctx context.Context, pg PortalPage) ([]PortalInvoice, string, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return nil, "", err
	}
	var after struct{ N int }
	if err := decodeCursor(pg.Cursor, &after); err != nil {
		return nil, "", err
	}
	limit := pageLimit(pg.Limit)
	args := []any{clinic, self}
	where := ""
	ks := keyset{cols: []string{"i.number"}, desc: true}
	if after.N > 0 {
		where, args = ks.after(args, after.N)
	}
	return queryPage(ctx, s, "portal invoices", portalInvoiceSelect+where, args, ks, limit,
		func(r pgx.CollectableRow) (PortalInvoice, error) { return scanPortalInvoice(r) },
		func(last PortalInvoice) any {
			after.N = last.Number
			return after
		})
}

// PortalInvoice returns one of the signed-in patient's invoices with its
// lines; anyone else's is ErrNotFound, exactly like a missing one.
func (s *Store) PortalInvoice(ctx context.Context, id tenancy.ID) (PortalInvoice, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return PortalInvoice{}, err
	}
	var v PortalInvoice
	err = s.db.Tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		if v, err = scanPortalInvoice(tx.QueryRow(ctx, portalInvoiceSelect+` and i.id = $3`, clinic, self, id)); err != nil {
			return notFound(err)
		}
		rows, err := tx.Query(ctx, `select line_no, code, description, quantity, unit_price_minor, amount_minor
			from invoice_lines where clinic_id = $1 and patient_id = $2 and invoice_id = $3 order by line_no`, clinic, self, id)
		if err != nil {
			return err
		}
		v.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PortalInvoiceLine, error) {
			var l PortalInvoiceLine
			err := r.Scan(&l.LineNo, &l.Code, &l.Description, &l.Quantity, &l.UnitPriceMinor, &l.AmountMinor)
			return l, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `select id, clinic_id, amount_minor, method, received_at
			from payments where clinic_id = $1 and patient_id = $2 and invoice_id = $3 order by received_at, id`, clinic, self, id)
		if err != nil {
			return err
		}
		v.Payments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PortalPayment, error) {
			var pm PortalPayment
			err := r.Scan(&pm.ID, &pm.ClinicID, &pm.AmountMinor, &pm.Method, &pm.ReceivedAt)
			pm.ReceivedAt = pm.ReceivedAt.UTC()
			return pm, err
		})
		return err
	})
	return v, wrap("portal invoice", err)
}

// PortalPrescription is one of the patient's prescriptions, without the
// prescriber's notes.
type PortalPrescription struct {
	ID           tenancy.ID `json:"id"`
	ClinicID     tenancy.ID `json:"clinic_id"`
	PatientID    tenancy.ID `json:"patient_id"`
	DentistID    tenancy.ID `json:"dentist_id"`
	Drug         string     `json:"drug"`
	Strength     string     `json:"strength"`
	Form         string     `json:"form"`
	Directions   string     `json:"directions"`
	Quantity     int        `json:"quantity"`
	Refills      int        `json:"refills"`
	PrescribedOn Date       `json:"prescribed_on"`
	Void         bool       `json:"void"`
}

// PortalPrescriptions returns the signed-in patient's prescriptions at the
// clinic, newest first.
func (s *Store) PortalPrescriptions(ctx context.Context, pg PortalPage) ([]PortalPrescription, string, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return nil, "", err
	}
	var after struct {
		D  time.Time
		ID tenancy.ID
	}
	if err := decodeCursor(pg.Cursor, &after); err != nil {
		return nil, "", err
	}
	limit := pageLimit(pg.Limit)
	args := []any{clinic, self}
	where := ""
	ks := keyset{cols: []string{"prescribed_on", "id"}, params: []string{"%s::date"}, desc: true}
	if !after.ID.IsZero() {
		where, args = ks.after(args, after.D, after.ID)
	}
	return queryPage(ctx, s, "portal prescriptions", `select id, clinic_id, patient_id, dentist_id, drug, strength, form, directions, quantity, refills,
		prescribed_on, voided_at is not null
		from prescriptions where clinic_id = $1 and patient_id = $2`+where, args, ks, limit,
		func(r pgx.CollectableRow) (PortalPrescription, error) {
			var x PortalPrescription
			var on time.Time
			err := r.Scan(&x.ID, &x.ClinicID, &x.PatientID, &x.DentistID, &x.Drug, &x.Strength, &x.Form, &x.Directions,
				&x.Quantity, &x.Refills, &on, &x.Void)
			x.PrescribedOn = DateOf(on)
			return x, err
		},
		func(last PortalPrescription) any {
			after.D, after.ID = last.PrescribedOn.Time, last.ID
			return after
		})
}

// AppointmentRequest is a patient's request for an appointment.
type AppointmentRequest struct {
	StartsAt    *time.Time `json:"starts_at"`
	DurationMin *int       `json:"duration_min"`
	Type        *string    `json:"type"`
}

// Limits of a portal appointment request.
const (
	portalMinDurationMin = 10
	portalMaxDurationMin = 120
	portalMaxAhead       = 366 * 24 * time.Hour
)

func (in AppointmentRequest) validate(now time.Time) error {
	switch {
	case in.StartsAt == nil:
		return invalid("starts_at", "starts_at is required")
	case in.DurationMin == nil:
		return invalid("duration_min", "duration_min is required")
	case in.Type == nil:
		return invalid("type", "type is required")
	case *in.DurationMin < portalMinDurationMin || *in.DurationMin > portalMaxDurationMin:
		return invalid("duration_min", "duration_min must be "+itoa(portalMinDurationMin)+" to "+itoa(portalMaxDurationMin)+" minutes")
	case !in.StartsAt.After(now):
		return invalid("starts_at", "starts_at must be in the future")
	case in.StartsAt.After(now.Add(portalMaxAhead)):
		return invalid("starts_at", "starts_at must be within a year")
	case in.StartsAt.Second() != 0 || in.StartsAt.Nanosecond() != 0:
		return invalid("starts_at", "starts_at must be on a whole minute")
	}
	return textField("type", in.Type, 1, 100)
}
