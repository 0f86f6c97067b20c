package store

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Patient is a patient's record at one clinic.
type Patient struct {
	ID               tenancy.ID  `json:"id"`
	ClinicID         tenancy.ID  `json:"clinic_id"`
	GivenName        string      `json:"given_name"`
	FamilyName       string      `json:"family_name"`
	DateOfBirth      *Date       `json:"date_of_birth"`
	Sex              string      `json:"sex"`
	Phone            string      `json:"phone"`
	Email            string      `json:"email"`
	Address          string      `json:"address"`
	Status           string      `json:"status"`
	MedicalAlerts    []string    `json:"medical_alerts"`
	Allergies        []string    `json:"allergies"`
	PrimaryDentistID *tenancy.ID `json:"primary_dentist_id"`
	CreatedAt        time.Time   `json:"created_at"`
	UpdatedAt        time.Time   `json:"updated_at"`
}

// PatientInput is a new patient, or (with pointers left nil) a partial
// update.
type PatientInput struct {
	GivenName        *string     `json:"given_name"`
	FamilyName       *string     `json:"family_name"`
	DateOfBirth      *Date       `json:"date_of_birth"`
	Sex              *string     `json:"sex"`
	Phone            *string     `json:"phone"`
	Email            *string     `json:"email"`
	Address          *string     `json:"address"`
	Status           *string     `json:"status"`
	MedicalAlerts    *[]string   `json:"medical_alerts"`
	Allergies        *[]string   `json:"allergies"`
	PrimaryDentistID *tenancy.ID `json:"primary_dentist_id"`
	// AllowDuplicate registers the patient, or changes their name or
	// date of birth, even though another patient of the clinic has the
	// same name and date of birth (see DuplicatePatient). Without it, that
	// is refused.
	AllowDuplicate bool `json:"allow_duplicate"`
}

const patientColumns = `id, clinic_id, given_name, family_name, date_of_birth, sex, phone, email, address, status,
	medical_alerts, allergies, primary_dentist_id, created_at, updated_at`

func scanPatient(row pgx.Row) (Patient, error) {
	var p Patient
	var dob *time.Time
	err := row.Scan(&p.ID, &p.ClinicID, &p.GivenName, &p.FamilyName, &dob, &p.Sex, &p.Phone, &p.Email, &p.Address,
		&p.Status, &p.MedicalAlerts, &p.Allergies, &p.PrimaryDentistID, &p.CreatedAt, &p.UpdatedAt)
	if dob != nil {
		d := DateOf(*dob)
		p.DateOfBirth = &d
	}
	return p, err
}

// PatientFilter narrows a patient list.
type PatientFilter struct {
	Query string // matches name, phone or email, case-insensitively
	// NamePrefix matches the start of the family name, ignoring the case
	// of ASCII letters (see NamePrefixBounds). Unlike Query, it is an
	// index range on patients_family_name_key, also under row-level
	// security.
	NamePrefix string
	// Status, if set, keeps only patients with this status (one of
	// PatientStatuses): "active" for the patients who may be booked.
	Status string
	// ID, if set, keeps only this patient: the one a form has chosen,
	// shown again beside the search results (no chart is opened, so
	// nothing is audited).
	ID *tenancy.ID
	// Cursor is the cursor of the page to read, as the previous page
	// returned it; "" for the first page.
	Cursor string
	// Limit is the number of patients a page holds at most (a default
	// when 0, capped at the store's largest page).
	Limit int
}

// maxNamePrefix is the longest family-name prefix searched for: a family
// name has at most 100 characters.
const maxNamePrefix = 100

// FoldName folds a family name as the column patients.family_name_key
// does (lower(family_name COLLATE "C")): ASCII letters to lower case,
// every other character as it is. The "C" collation makes the database's
// folding the same in every locale, so Go and SQL agree on it exactly.
func FoldName(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// NamePrefixBounds returns the range of family_name_key values that start
// with prefix (folded by FoldName): lo <= key < hi in byte order, which is
// what the text_pattern_ops operators ~>=~ and ~<~ compare, and which for
// UTF-8 is code point order. hi is lo with its last character replaced by
// the next code point (skipping the surrogates, which UTF-8 text never
// holds); trailing characters that are the largest code point are dropped
// first. hasHi is false when there is no upper bound (an empty prefix, or
// one made only of U+10FFFF): every key from lo on matches.
//
// The bounds, not LIKE, are the search condition because under row-level
// security PostgreSQL uses only LEAKPROOF operators as index conditions;
// the text_pattern_ops comparisons are leakproof, lower() and LIKE are
// not (docs/benchmarks.md).
func NamePrefixBounds(prefix string) (lo, hi string, hasHi bool) {
	lo = FoldName(prefix)
	rs := []rune(lo)
	for len(rs) > 0 {
		last := rs[len(rs)-1]
		switch {
		case last >= unicode.MaxRune:
			rs = rs[:len(rs)-1]
			continue
		case last == 0xD7FF: // the surrogates follow
			rs[len(rs)-1] = 0xE000
		default:
			rs[len(rs)-1] = last + 1
		}
		return lo, string(rs), true
	}
	return lo, "", false
}

// ListPatients returns the clinic's patients ordered by family name, given
// name and id, a page at a time.
func (s *Store) ListPatients(ctx context.Context, f PatientFilter) ([]Patient, string, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, "", err
	}
	var after struct {
		F, G string
		ID   tenancy.ID
	}
	if err := decodeCursor(f.Cursor, &after); err != nil {
		return nil, "", err
	}
	limit := pageLimit(f.Limit)
	args := []any{p.Tenant}
	where := ""
	if q := strings.TrimSpace(f.Query); q != "" {
		// Case is folded by the database on both sides (lower($n)): Go's
		// case mapping and the database's, which depends on its locale,
		// differ for non-ASCII letters.
		args = append(args, "%"+escapeLike(q)+"%")
		n := "lower($" + itoa(len(args)) + ")"
		where += ` and (lower(given_name || ' ' || family_name) like ` + n + ` or lower(family_name || ' ' || given_name) like ` + n + `
			or lower(email) like ` + n + ` or phone like $` + itoa(len(args)) + `)`
	}
	if f.Status != "" {
		if !oneOf(f.Status, patientStatuses) {
			return nil, "", invalid("status", "status must be one of active, inactive, archived")
		}
		args = append(args, f.Status)
		where += ` and status = $` + itoa(len(args))
	}
	if f.ID != nil {
		args = append(args, *f.ID)
		where += ` and id = $` + itoa(len(args))
	}
	if prefix := strings.TrimSpace(f.NamePrefix); prefix != "" {
		if err := textField("name_prefix", &prefix, 1, maxNamePrefix); err != nil {
			return nil, "", err
		}
		lo, hi, hasHi := NamePrefixBounds(prefix)
		args = append(args, lo)
		where += ` and family_name_key ~>=~ $` + itoa(len(args))
		if hasHi {
			args = append(args, hi)
			where += ` and family_name_key ~<~ $` + itoa(len(args))
		}
	}
	// The cursor holds the names as stored: the condition folds them as
	// it folds the columns it orders by.
	ks := keyset{cols: []string{"lower(family_name)", "lower(given_name)", "id"}, params: []string{"lower(%s)", "lower(%s)"}}
	if !after.ID.IsZero() {
		var cond string
		cond, args = ks.after(args, after.F, after.G, after.ID)
		where += cond
	}
	return queryPage(ctx, s, "list patients", `select `+patientColumns+` from patients where clinic_id = $1`+where, args, ks, limit,
		func(r pgx.CollectableRow) (Patient, error) { return scanPatient(r) },
		func(last Patient) any {
			after.F, after.G, after.ID = last.FamilyName, last.GivenName, last.ID
			return after
		})
}

// Patient returns one patient of the caller's clinic, or ErrNotFound.
// Opening a chart is recorded in the clinic's audit log.
func (s *Store) Patient(ctx context.Context, id tenancy.ID) (Patient, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Patient{}, err
	}
	return viewRecord(ctx, s, "get patient", `select `+patientColumns+` from patients where clinic_id = $1 and id = $2`,
		scanPatient, "patient.view", "patient", p.Tenant, id)
}

var (
	sexes           = []string{"female", "male", "other", "unknown"}
	patientStatuses = []string{"active", "inactive", "archived"}
)

// Sexes returns the values of a patient's sex, in the order forms offer
// them.
func Sexes() []string { return slices.Clone(sexes) }

// PatientStatuses returns the statuses of a patient record: "active" may
// be booked; "inactive" (moved away, not seen for years) and "archived"
// are not offered for booking and cannot sign in to the portal, but their
// records stay, with every appointment, invoice and prescription. Patients
// are never deleted.
func PatientStatuses() []string { return slices.Clone(patientStatuses) }

// DuplicatePatient is the conflict code of a patient registered, or
// renamed, with the name and date of birth of another patient of the same
// clinic: most often the same person registered twice. Its Detail is the
// ids of those patients ([]tenancy.ID). Set PatientInput.AllowDuplicate
// to register a namesake anyway.
const DuplicatePatient = "duplicate_patient"

// maxNamesakes bounds the namesakes a duplicate conflict names.
const maxNamesakes = 5

// checkNamesakes refuses pt with DuplicatePatient when another patient of
// its clinic has its given and family name and date of birth. Names
// compare as the name search folds them: the family name by FoldName
// (ASCII letters only, the index patients_family_name_key), the given name
// by the database's lower(). A patient without a date of birth has no
// namesake. It runs in the transaction that writes pt, so a refusal
// undoes the write and its audit row.
func checkNamesakes(ctx context.Context, tx *tenantdb.Tx, pt Patient) error {
	if pt.DateOfBirth == nil {
		return nil
	}
	given, family := namesakeKey(pt.GivenName), namesakeKey(pt.FamilyName)
	// Two registrations of one person at once (a double click) would not
	// see each other's row, uncommitted: they take turns on the identity.
	if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2, 0))`,
		pt.ClinicID, given+"\n"+family+"\n"+pt.DateOfBirth.Format(time.DateOnly)); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `select id, given_name, family_name from patients
		where clinic_id = $1 and date_of_birth = $2 and id <> $3 order by id limit `+itoa(maxSameBirthday),
		pt.ClinicID, pt.DateOfBirth.timePtr(), pt.ID)
	if err != nil {
		return err
	}
	var ids []tenancy.ID
	for rows.Next() {
		var id tenancy.ID
		var g, f string
		if err := rows.Scan(&id, &g, &f); err != nil {
			rows.Close()
			return err
		}
		if namesakeKey(g) == given && namesakeKey(f) == family && len(ids) < maxNamesakes {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	return &Error{Kind: ErrConflict, Code: DuplicatePatient, Detail: ids,
		Msg: "A patient with the same name and date of birth is already registered at this clinic."}
}

// maxSameBirthday bounds the patients of one date of birth the duplicate
// check compares names with.
const maxSameBirthday = 2000

// namesakeKey is how the duplicate check compares names: Unicode NFC
// (so "Zoë" typed either way is one name), case folded (so "MÜLLER" is
// "Müller"), without surrounding space.
func namesakeKey(s string) string { return cases.Fold().String(norm.NFC.String(strings.TrimSpace(s))) }

// sameIdentity reports whether a and b have the same name and date of
// birth, exactly: an edit that changes none of them is not checked for
// namesakes again.
func sameIdentity(a, b Patient) bool {
	sameDOB := a.DateOfBirth == nil && b.DateOfBirth == nil ||
		a.DateOfBirth != nil && b.DateOfBirth != nil && a.DateOfBirth.Equal(b.DateOfBirth.Time)
	return a.GivenName == b.GivenName && a.FamilyName == b.FamilyName && sameDOB
}

func (in PatientInput) validate(create bool) error {
	if create && (in.GivenName == nil || in.FamilyName == nil) {
		return invalid("given_name", "given_name and family_name are required")
	}
	if err := textField("given_name", in.GivenName, 1, 100); err != nil {
		return err
	}
	if err := textField("family_name", in.FamilyName, 1, 100); err != nil {
		return err
	}
	if err := textField("phone", in.Phone, 0, 40); err != nil {
		return err
	}
	if err := textField("email", in.Email, 0, 254); err != nil {
		return err
	}
	if in.Email != nil && *in.Email != "" && !emailShaped(*in.Email) {
		return invalid("email", "email is not an email address")
	}
	if err := textField("address", in.Address, 0, 500); err != nil {
		return err
	}
	if in.Sex != nil && !oneOf(*in.Sex, sexes) {
		return invalid("sex", "sex must be one of female, male, other, unknown")
	}
	if in.Status != nil && !oneOf(*in.Status, patientStatuses) {
		return invalid("status", "status must be one of active, inactive, archived")
	}
	if in.DateOfBirth != nil && in.DateOfBirth.After(time.Now()) {
		return invalid("date_of_birth", "date_of_birth is in the future")
	}
	for field, list := range map[string]*[]string{"medical_alerts": in.MedicalAlerts, "allergies": in.Allergies} {
		if list == nil {
			continue
		}
		if len(*list) > 50 {
			return invalid(field, field+" has more than 50 entries")
		}
		for _, v := range *list {
			if err := textField(field, &v, 1, 200); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreatePatient adds a patient to the caller's clinic.
func (s *Store) CreatePatient(ctx context.Context, in PatientInput) (Patient, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Patient{}, err
	}
	if err := in.validate(true); err != nil {
		return Patient{}, err
	}
	id := tenancy.NewID()
	var pt Patient
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		pt, err = scanPatient(tx.QueryRow(ctx, `insert into patients (clinic_id, id, given_name, family_name, date_of_birth,
		sex, phone, email, address, status, medical_alerts, allergies, primary_dentist_id)
		values ($1, $2, $3, $4, $5, coalesce($6, 'unknown'), coalesce($7, ''), coalesce($8, ''), coalesce($9, ''),
		        coalesce($10, 'active'), coalesce($11, '{}'::text[]), coalesce($12, '{}'::text[]), $13)
		returning `+patientColumns,
			p.Tenant, id, in.GivenName, in.FamilyName, in.DateOfBirth.timePtr(), in.Sex, in.Phone, in.Email, in.Address,
			in.Status, in.MedicalAlerts, in.Allergies, in.PrimaryDentistID))
		if err != nil {
			return dentistRef(err)
		}
		if !in.AllowDuplicate {
			if err := checkNamesakes(ctx, tx, pt); err != nil {
				return err
			}
		}
		return record(ctx, tx, "patient.create", "patient", id)
	})
	return pt, wrap("create patient", err)
}

// UpdatePatient changes the given fields of a patient of the caller's
// clinic. Patients are never deleted: set status "archived". A record no
// longer active ends the patient's portal sessions at once (their tokens'
// subject is the patient; sign-in refuses them too); an error after the
// change is saved says so, and sending the change again ends them.
func (s *Store) UpdatePatient(ctx context.Context, id tenancy.ID, in PatientInput) (Patient, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Patient{}, err
	}
	if s.revoker == nil {
		return Patient{}, errNoRevoker
	}
	if err := in.validate(false); err != nil {
		return Patient{}, err
	}
	var pt Patient
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		old, err := scanPatient(tx.QueryRow(ctx, `select `+patientColumns+` from patients where clinic_id = $1 and id = $2 for update`,
			p.Tenant, id))
		if err != nil {
			return notFound(err)
		}
		pt, err = scanPatient(tx.QueryRow(ctx, `update patients set
		given_name = coalesce($3, given_name), family_name = coalesce($4, family_name),
		date_of_birth = coalesce($5, date_of_birth), sex = coalesce($6, sex), phone = coalesce($7, phone),
		email = coalesce($8, email), address = coalesce($9, address), status = coalesce($10, status),
		medical_alerts = coalesce($11, medical_alerts), allergies = coalesce($12, allergies),
		primary_dentist_id = coalesce($13, primary_dentist_id), updated_at = now()
		where clinic_id = $1 and id = $2
		returning `+patientColumns,
			p.Tenant, id, in.GivenName, in.FamilyName, in.DateOfBirth.timePtr(), in.Sex, in.Phone, in.Email, in.Address,
			in.Status, in.MedicalAlerts, in.Allergies, in.PrimaryDentistID))
		if err != nil {
			return dentistRef(notFound(err))
		}
		if !in.AllowDuplicate && !sameIdentity(old, pt) {
			if err := checkNamesakes(ctx, tx, pt); err != nil {
				return err
			}
		}
		return record(ctx, tx, "patient.update", "patient", id)
	})
	if err == nil && pt.Status != "active" {
		err = s.endSessions(ctx, id)
	}
	return pt, wrap("update patient", err)
}

// dentistRef turns a foreign-key failure on the primary dentist into a
// plain invalid-input error (another clinic's staff id is as unknown as a
// made-up one).
func dentistRef(err error) error {
	if code, name := constraint(err); code == "23503" && strings.Contains(name, "primary_dentist") {
		return invalid("primary_dentist_id", "primary_dentist_id is not a member of this clinic's staff")
	}
	return err
}
