package scale

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// PublicKey reads the app's Ed25519 signing key (PEM, PKCS #8) from path
// and returns its public half.
func PublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("signing key: not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not Ed25519", path)
	}
	return priv.Public().(ed25519.PublicKey), nil
}

// NewBaseline returns the load benchmark's baseline server: the routes of
// Mix with the same SQL as the app's store, run on db through bare pgx,
// without the SDK. db must connect as a role that bypasses row-level
// security (the owner role), so that the explicit clinic_id predicates
// alone scope the data; it sets no tenant context, runs no SQL guard and
// writes no audit events. It verifies the app's bearer tokens with
// golang-jwt alone (signature, expiry, issuer and audience) against key
// and reads the clinic from the token's tenant claim.
//
// It is a benchmark fixture, not an app: never expose it.
func NewBaseline(db *pgxpool.Pool, key ed25519.PublicKey) http.Handler {
	s := &server{db: db, key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /api/v1/appointments", s.auth(s.listAppointments))
	mux.HandleFunc("GET /api/v1/appointments/{id}", s.auth(s.getAppointment))
	mux.HandleFunc("POST /api/v1/appointments", s.auth(s.createAppointment))
	mux.HandleFunc("GET /api/v1/patients", s.auth(s.listPatients))
	mux.HandleFunc("GET /api/v1/patients/{id}", s.auth(s.getPatient))
	mux.HandleFunc("PATCH /api/v1/patients/{id}", s.auth(s.updatePatient))
	mux.HandleFunc("GET /api/v1/invoices", s.auth(s.listInvoices))
	return mux
}

type server struct {
	db  *pgxpool.Pool
	key ed25519.PublicKey
}

type claims struct {
	jwt.RegisteredClaims
	Tenant *string `json:"tenant,omitempty"`
}

// auth verifies the bearer token and passes its clinic on.
func (s *server) auth(h func(http.ResponseWriter, *http.Request, tenancy.ID)) http.HandlerFunc {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("dentalclinic"),
		jwt.WithAudience("dentalclinic-api"), jwt.WithExpirationRequired())
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var c claims
		if ok {
			_, err := parser.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.key, nil })
			ok = err == nil && c.Tenant != nil
		}
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		clinic, err := tenancy.ParseID(*c.Tenant)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h(w, r, clinic)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		http.Error(w, "not found", http.StatusNotFound)
	case errors.Is(err, errConflict):
		http.Error(w, "conflict", http.StatusConflict)
	case errors.Is(err, errInvalid):
		http.Error(w, "invalid", http.StatusUnprocessableEntity)
	case errors.Is(err, context.Canceled):
		// the client went away
	default:
		log.Print(err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

var errConflict, errInvalid = errors.New("conflict"), errors.New("invalid")

func limit(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	switch {
	case n <= 0:
		return 50
	case n > 200:
		return 200
	}
	return n
}

func pathID(w http.ResponseWriter, r *http.Request) (tenancy.ID, bool) {
	id, err := tenancy.ParseID(r.PathValue("id"))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
	}
	return id, err == nil
}

// The SQL below is the app's (internal/store), statement for statement.

const baseAppointmentFrom = ` from appointments a join clinics c on c.id = a.clinic_id`

func baseScanAppointment(row pgx.Row) (store.Appointment, error) {
	var a store.Appointment
	err := row.Scan(&a.ID, &a.ClinicID, &a.PatientID, &a.DentistID, &a.HygienistID, &a.OperatoryID, &a.StartsAt, &a.EndsAt,
		&a.Type, &a.Note, &a.Status, &a.HoursOverride, &a.CancelReason, &a.CreatedAt, &a.UpdatedAt, &a.TimeZone)
	if err != nil {
		return a, err
	}
	a.StartsAt, a.EndsAt = a.StartsAt.UTC(), a.EndsAt.UTC()
	a.DurationMin = int(a.EndsAt.Sub(a.StartsAt) / time.Minute)
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		return a, err
	}
	a.LocalStart, a.LocalEnd = a.StartsAt.In(loc).Format(store.LocalLayout), a.EndsAt.In(loc).Format(store.LocalLayout)
	return a, nil
}

func (s *server) listAppointments(w http.ResponseWriter, r *http.Request, clinic tenancy.ID) {
	q := r.URL.Query()
	n := limit(r)
	args := []any{clinic}
	where := ""
	for _, p := range []struct{ name, cond string }{{"from", "a.starts_at >= $"}, {"to", "a.starts_at < $"}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				http.Error(w, "bad query", http.StatusBadRequest)
				return
			}
			args = append(args, t)
			where += " and " + p.cond + strconv.Itoa(len(args))
		}
	}
	rows, err := s.db.Query(r.Context(), `select `+appointmentColumns+baseAppointmentFrom+` where a.clinic_id = $1`+where+`
		order by a.starts_at, a.id limit `+strconv.Itoa(n+1), args...)
	if err != nil {
		fail(w, err)
		return
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Appointment, error) { return baseScanAppointment(r) })
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, basePage(list, n))
}

func basePage[T any](list []T, n int) page[T] {
	p := page[T]{Items: list}
	if list == nil {
		p.Items = []T{}
	}
	if len(list) > n {
		p.Items = list[:n]
		next := "more" // the app encodes a cursor here; the baseline's clients do not page
		p.NextCursor = &next
	}
	return p
}

func (s *server) getAppointment(w http.ResponseWriter, r *http.Request, clinic tenancy.ID) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	a, err := baseScanAppointment(s.db.QueryRow(r.Context(), `select `+appointmentColumns+baseAppointmentFrom+` where a.clinic_id = $1 and a.id = $2`, clinic, id))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *server) createAppointment(w http.ResponseWriter, r *http.Request, clinic tenancy.ID) {
	var in store.AppointmentInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.PatientID == nil || in.DentistID == nil ||
		in.OperatoryID == nil || in.LocalStart == nil || in.DurationMin == nil || in.Type == nil {
		http.Error(w, "invalid", http.StatusUnprocessableEntity)
		return
	}
	ctx := r.Context()
	var out store.Appointment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var zone string
		if err := tx.QueryRow(ctx, `select time_zone from clinics where id = $1`, clinic).Scan(&zone); err != nil {
			return err
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return err
		}
		local, err := time.ParseInLocation(store.LocalLayout, *in.LocalStart, loc)
		if err != nil {
			return errInvalid
		}
		start := local.UTC()
		end := start.Add(time.Duration(*in.DurationMin) * time.Minute)
		var status string
		if err := tx.QueryRow(ctx, `select status from patients where clinic_id = $1 and id = $2`, clinic, *in.PatientID).Scan(&status); err != nil || status == "archived" {
			return errInvalid
		}
		var roles []string
		var disabled bool
		if err := tx.QueryRow(ctx, `select roles, disabled from staff where clinic_id = $1 and id = $2`, clinic, *in.DentistID).Scan(&roles, &disabled); err != nil || disabled {
			return errInvalid
		}
		var hidden bool
		if err := tx.QueryRow(ctx, `select hidden from operatories where clinic_id = $1 and id = $2`, clinic, *in.OperatoryID).Scan(&hidden); err != nil || hidden {
			return errInvalid
		}
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended('appointments.dentist:' || $1::text || ':' || $2::text, 0))`,
			clinic.String(), in.DentistID.String()); err != nil {
			return err
		}
		id := tenancy.NewID()
		if _, err := tx.Exec(ctx, `insert into appointments (clinic_id, id, patient_id, dentist_id, hygienist_id, operatory_id,
			starts_at, ends_at, type, note, status) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, ''), $11)`,
			clinic, id, *in.PatientID, *in.DentistID, in.HygienistID.ID, *in.OperatoryID, start, end, *in.Type, in.Note, "scheduled"); err != nil {
			if strings.Contains(err.Error(), "23P01") {
				return errConflict
			}
			return err
		}
		var busy bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from appointments where clinic_id = $1 and dentist_id = $2 and id <> $3
		and hygienist_id is null and status not in ('cancelled', 'no_show')
		and tstzrange(starts_at, ends_at, '[)') && tstzrange($4, $5, '[)'))`, clinic, *in.DentistID, id, start, end).Scan(&busy); err != nil {
			return err
		}
		if busy {
			return errConflict
		}
		out, err = baseScanAppointment(tx.QueryRow(ctx, `select `+appointmentColumns+baseAppointmentFrom+` where a.clinic_id = $1 and a.id = $2`, clinic, id))
		return err
	})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

const basePatientColumns = `id, clinic_id, given_name, family_name, date_of_birth, sex, phone, email, address, status,
	medical_alerts, allergies, primary_dentist_id, created_at, updated_at`

func baseScanPatient(row pgx.Row) (store.Patient, error) {
	var p store.Patient
	var dob *time.Time
	err := row.Scan(&p.ID, &p.ClinicID, &p.GivenName, &p.FamilyName, &dob, &p.Sex, &p.Phone, &p.Email, &p.Address,
		&p.Status, &p.MedicalAlerts, &p.Allergies, &p.PrimaryDentistID, &p.CreatedAt, &p.UpdatedAt)
	if dob != nil {
		d := store.DateOf(*dob)
		p.DateOfBirth = &d
	}
	return p, err
}

func (s *server) listPatients(w http.ResponseWriter, r *http.Request, clinic tenancy.ID) {
	n := limit(r)
	args := []any{clinic}
	where := ""
	if q := strings.TrimSpace(r.URL.Query().Get("q")); q != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
		args = append(args, "%"+esc+"%")
		where += ` and (lower(given_name || ' ' || family_name) like lower($2) or lower(family_name || ' ' || given_name) like lower($2)
			or lower(email) like lower($2) or phone like $2)`
	}
	if prefix := strings.TrimSpace(r.URL.Query().Get("name_prefix")); prefix != "" {
		lo, hi, hasHi := store.NamePrefixBounds(prefix)
		args = append(args, lo)
		where += ` and family_name_key ~>=~ $` + strconv.Itoa(len(args))
		if hasHi {
			args = append(args, hi)
			where += ` and family_name_key ~<~ $` + strconv.Itoa(len(args))
		}
	}
	rows, err := s.db.Query(r.Context(), `select `+basePatientColumns+` from patients where clinic_id = $1`+where+`
		order by lower(family_name), lower(given_name), id limit `+strconv.Itoa(n+1), args...)
	if err != nil {
		fail(w, err)
		return
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Patient, error) { return baseScanPatient(r) })
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, basePage(list, n))
}

func (s *server) getPatient(w http.ResponseWriter, r *http.Request, clinic tenancy.ID) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	p, err := baseScanPatient(s.db.QueryRow(r.Context(), `select `+basePatientColumns+` from patients where clinic_id = $1 and id = $2`, clinic, id))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *server) updatePatient(w http.ResponseWriter, r *http.Request, clinic tenancy.ID) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in store.PatientInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "invalid", http.StatusUnprocessableEntity)
		return
	}
	var dob *time.Time
	if in.DateOfBirth != nil {
		t := in.DateOfBirth.Time
		dob = &t
	}
	var p store.Patient
	err := pgx.BeginFunc(r.Context(), s.db, func(tx pgx.Tx) error {
		var err error
		p, err = baseScanPatient(tx.QueryRow(r.Context(), `update patients set
		given_name = coalesce($3, given_name), family_name = coalesce($4, family_name),
		date_of_birth = coalesce($5, date_of_birth), sex = coalesce($6, sex), phone = coalesce($7, phone),
		email = coalesce($8, email), address = coalesce($9, address), status = coalesce($10, status),
		medical_alerts = coalesce($11, medical_alerts), allergies = coalesce($12, allergies),
		primary_dentist_id = coalesce($13, primary_dentist_id), updated_at = now()
		where clinic_id = $1 and id = $2
		returning `+basePatientColumns,
			clinic, id, in.GivenName, in.FamilyName, dob, in.Sex, in.Phone, in.Email, in.Address,
			in.Status, in.MedicalAlerts, in.Allergies, in.PrimaryDentistID))
		return err
	})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

const baseInvoiceFrom = `
	select i.id, i.clinic_id, i.number, i.patient_id, i.currency, i.total_minor, coalesce(pay.paid, 0)::bigint,
		i.issued_at, i.voided_at, i.created_at, case when i.status <> 'issued' then i.status
		when coalesce(pay.paid, 0) >= i.total_minor then 'paid'
		when coalesce(pay.paid, 0) = 0 then 'issued'
		else 'partly_paid' end,
		(select pt.given_name || ' ' || pt.family_name from patients pt where pt.clinic_id = $1 and pt.id = i.patient_id)
	from invoices i
	left join lateral (select sum(p.amount_minor) as paid from payments p
		where p.clinic_id = $1 and p.invoice_id = i.id) pay on true
	where i.clinic_id = $1`

func (s *server) listInvoices(w http.ResponseWriter, r *http.Request, clinic tenancy.ID) {
	n := limit(r)
	rows, err := s.db.Query(r.Context(), baseInvoiceFrom+` order by i.number desc limit `+strconv.Itoa(n+1), clinic)
	if err != nil {
		fail(w, err)
		return
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Invoice, error) {
		var inv store.Invoice
		var name *string
		err := r.Scan(&inv.ID, &inv.ClinicID, &inv.Number, &inv.PatientID, &inv.Currency, &inv.TotalMinor, &inv.PaidMinor,
			&inv.IssuedAt, &inv.VoidedAt, &inv.CreatedAt, &inv.Status, &name)
		if name != nil {
			inv.PatientName = *name
		}
		inv.Currency = strings.TrimSpace(inv.Currency)
		inv.BalanceMinor = inv.TotalMinor - inv.PaidMinor
		if inv.Status == "void" {
			inv.BalanceMinor = 0
		}
		return inv, err
	})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, basePage(list, n))
}
