// Package seed writes the reference app's demo data: three clinics with
// staff, patients, a week of appointments, invoices with payments and
// prescriptions, a patient enrolled at two clinics, and a platform admin.
// The names, emails and password are fixed so that docs and tests can rely
// on them; the data is generated deterministically from them.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
)

// Password is every demo account's password.
const Password = "dentalclinic-demo"

// AdminEmail is the demo platform admin's sign-in.
const AdminEmail = "admin@platform.example"

// PortalEmail is Alex Morgan's portal sign-in at Riverside and Hillcrest.
const PortalEmail = "alex.morgan@example.com"

// Clinic is a demo clinic.
type Clinic struct {
	ID       tenancy.ID
	Slug     string // the <clinic> of owner@<clinic>.example
	Name     string
	TimeZone string
	Currency string
}

// Clinics are the demo clinics, with fixed ids.
var Clinics = []Clinic{
	{tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000101"), "riverside", "Riverside Dental", "Europe/London", "GBP"},
	{tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000102"), "hillcrest", "Hillcrest Dental", "Europe/London", "GBP"},
	{tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000103"), "lakeside", "Lakeside Family Dentistry", "America/Chicago", "USD"},
}

// StaffRoles are the demo staff at every clinic: email local part and roles.
var StaffRoles = []struct {
	Local string
	Name  string
	Roles []string
}{
	{"owner", "Owner", []string{"owner", "dentist"}},
	{"dentist", "Dentist", []string{"dentist"}},
	{"hygienist", "Hygienist", []string{"hygienist"}},
	{"frontdesk", "Front Desk", []string{"front_desk", "billing"}},
}

// StaffEmail returns a demo staff member's email, such as
// "owner@riverside.example".
func StaffEmail(local string, c Clinic) string { return local + "@" + c.Slug + ".example" }

// HillcrestOnly is a patient who exists only at Hillcrest, for the "search
// a sister clinic's patient" check.
const HillcrestOnly = "Jordan Whitlock"

var (
	givenNames  = []string{"Sam", "Charlie", "Jamie", "Taylor", "Riley", "Casey", "Avery", "Quinn", "Robin", "Drew", "Kim", "Lee", "Morgan", "Parker", "Rowan", "Sasha"}
	familyNames = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright", "Walker", "Evans", "Thomas", "Roberts", "Green", "Hall", "Wood", "Clarke"}
	fees        = []struct {
		code, desc string
		price      int64 // minor units
	}{
		{"EXAM", "Examination", 4500}, {"XRAY", "Bitewing X-rays", 3500}, {"SCALE", "Scale and polish", 6500},
		{"FILL1", "Filling, one surface", 9500}, {"FILL2", "Filling, two surfaces", 13000}, {"EXTR", "Extraction", 15000},
	}
)

// Empty reports whether the database holds no clinics yet.
func Empty(ctx context.Context, tx pgx.Tx) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, "select count(*) from clinics").Scan(&n)
	return n == 0, err
}

// Write writes the demo data in tx, which must be able to write every
// table (the owner role, which has BYPASSRLS). now anchors "this week".
func Write(ctx context.Context, tx pgx.Tx, now time.Time) error {
	rng := rand.New(rand.NewPCG(20261125, 1))
	hash := func() (string, error) { return passwords.Hash(Password) }

	h, err := hash()
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `insert into platform_admins (id, email, name, password_hash) values ($1, $2, 'Platform Admin', $3)`,
		tenancy.NewID(), AdminEmail, h); err != nil {
		return fmt.Errorf("seed: admin: %w", err)
	}
	for _, c := range Clinics {
		if err := writeClinic(ctx, tx, c, now, rng, hash); err != nil {
			return fmt.Errorf("seed: %s: %w", c.Name, err)
		}
	}
	return nil
}

// clinicSeed is one clinic's demo data being written: what each step
// leaves for the next (chairs, staff, patients) and what they share.
type clinicSeed struct {
	ctx  context.Context
	tx   pgx.Tx
	c    Clinic
	now  time.Time
	loc  *time.Location
	rng  *rand.Rand
	hash func() (string, error)

	chairs   []tenancy.ID
	staff    map[string]tenancy.ID // by StaffRoles' Local
	patients []seedPatient
	alex     tenancy.ID // Alex Morgan, at Riverside and Hillcrest only
}

type seedPatient struct {
	id         tenancy.ID
	given, fam string
}

// writeClinic writes clinic c's demo data, step by step. The steps run in
// this order and share one random source, so the data is the same on
// every run with the same now.
func writeClinic(ctx context.Context, tx pgx.Tx, c Clinic, now time.Time, rng *rand.Rand, hash func() (string, error)) error {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return err
	}
	s := &clinicSeed{ctx: ctx, tx: tx, c: c, now: now, loc: loc, rng: rng, hash: hash, staff: map[string]tenancy.ID{}}
	for _, step := range []func() error{
		s.clinic,        // the clinic, its opening hours and invoice counter
		s.operatories,   // three chairs
		s.feeSchedule,   // the price list
		s.staffMembers,  // StaffRoles' accounts
		s.patientList,   // Alex, Jordan and 30 others
		s.appointments,  // a week of bookings
		s.invoices,      // for the first ten patients, some paid
		s.prescriptions, // for the first six patients
		s.portalAccount, // Alex's portal sign-in
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (s *clinicSeed) exec(sql string, args ...any) error {
	_, err := s.tx.Exec(s.ctx, sql, args...)
	return err
}

// clinic writes the clinic's registry row, its settings (open 08:30 to
// 17:30 on weekdays) and its invoice counter.
func (s *clinicSeed) clinic() error {
	c := s.c
	if err := s.exec(`insert into clinics (id, name, time_zone, currency) values ($1, $2, $3, $4)`, c.ID, c.Name, c.TimeZone, c.Currency); err != nil {
		return err
	}
	weekday := `[["08:30","17:30"]]`
	if err := s.exec(`insert into clinic_settings (clinic_id, opening_hours) values ($1, $2)`, c.ID,
		`{"mon":`+weekday+`,"tue":`+weekday+`,"wed":`+weekday+`,"thu":`+weekday+`,"fri":`+weekday+`,"sat":[],"sun":[]}`); err != nil {
		return err
	}
	return s.exec(`insert into invoice_counters (clinic_id) values ($1)`, c.ID)
}

// operatories writes Chair 1 to Chair 3.
func (s *clinicSeed) operatories() error {
	for i := 1; i <= 3; i++ {
		id := tenancy.NewID()
		s.chairs = append(s.chairs, id)
		if err := s.exec(`insert into operatories (clinic_id, id, name) values ($1, $2, $3)`, s.c.ID, id, fmt.Sprintf("Chair %d", i)); err != nil {
			return err
		}
	}
	return nil
}

// feeSchedule writes the clinic's fee schedule (fees).
func (s *clinicSeed) feeSchedule() error {
	for _, f := range fees {
		if err := s.exec(`insert into fee_schedule (clinic_id, code, description, price_minor) values ($1, $2, $3, $4)`, s.c.ID, f.code, f.desc, f.price); err != nil {
			return err
		}
	}
	return nil
}

// staffMembers writes one account per StaffRoles entry, with Password.
func (s *clinicSeed) staffMembers() error {
	for _, m := range StaffRoles {
		h, err := s.hash()
		if err != nil {
			return err
		}
		id := tenancy.NewID()
		s.staff[m.Local] = id
		if err := s.exec(`insert into staff (clinic_id, id, email, name, roles, password_hash) values ($1, $2, $3, $4, $5, $6)`,
			s.c.ID, id, StaffEmail(m.Local, s.c), m.Name+" ("+s.c.Name+")", m.Roles, h); err != nil {
			return err
		}
	}
	return nil
}

// addPatient writes one patient with random details, the dentist as
// their primary dentist.
func (s *clinicSeed) addPatient(given, family string) (tenancy.ID, error) {
	rng := s.rng
	id := tenancy.NewID()
	dob := time.Date(1950+rng.IntN(60), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	sex := []string{"female", "male", "other", "unknown"}[rng.IntN(4)]
	alerts, allergies := []string{}, []string{}
	if rng.IntN(6) == 0 {
		alerts = []string{"Anticoagulants"}
	}
	if rng.IntN(5) == 0 {
		allergies = []string{"Penicillin"}
	}
	err := s.exec(`insert into patients (clinic_id, id, given_name, family_name, date_of_birth, sex, phone, email,
			medical_alerts, allergies, primary_dentist_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.c.ID, id, given, family, dob, sex, fmt.Sprintf("+44 7700 9%05d", rng.IntN(100000)),
		fmt.Sprintf("%s.%s@example.net", lower(given), lower(family)), alerts, allergies, s.staff["dentist"])
	s.patients = append(s.patients, seedPatient{id, given, family})
	return id, err
}

// patientList writes Alex Morgan (Riverside and Hillcrest), Jordan
// Whitlock (Hillcrest only, HillcrestOnly) and 30 random patients.
func (s *clinicSeed) patientList() error {
	var err error
	if s.c.Slug == "riverside" || s.c.Slug == "hillcrest" {
		if s.alex, err = s.addPatient("Alex", "Morgan"); err != nil {
			return err
		}
	}
	if s.c.Slug == "hillcrest" {
		if _, err := s.addPatient("Jordan", "Whitlock"); err != nil {
			return err
		}
	}
	for range 30 {
		fam := familyNames[s.rng.IntN(len(familyNames))]
		if _, err := s.addPatient(givenNames[s.rng.IntN(len(givenNames))], fam); err != nil {
			return err
		}
	}
	return nil
}

// appointments writes a week of appointments from Monday of this week, in
// the clinic's zone: each chair booked on the hour and half hour, some
// slots left free; Alex has one, Wednesday 10:00 in Chair 2.
func (s *clinicSeed) appointments() error {
	rng, now, loc, staff, chairs, patients, alex := s.rng, s.now, s.loc, s.staff, s.chairs, s.patients, s.alex
	local := now.In(loc)
	monday := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -(int(local.Weekday())+6)%7)
	types := []string{"Check-up", "Hygiene", "Filling", "Consultation"}
	statuses := func(start time.Time) string {
		if start.Before(now) {
			return []string{"completed", "completed", "completed", "no_show", "cancelled"}[rng.IntN(5)]
		}
		return []string{"scheduled", "confirmed"}[rng.IntN(2)]
	}
	booked := map[tenancy.ID][]time.Time{} // patient -> starts, to avoid double-booking a patient
	type chairSlot struct {
		chair tenancy.ID
		start time.Time
	}
	taken := map[chairSlot]bool{}
	book := func(pt, dentist tenancy.ID, hyg *tenancy.ID, chair tenancy.ID, start time.Time, typ, status string) error {
		booked[pt] = append(booked[pt], start)
		taken[chairSlot{chair, start}] = true
		return s.exec(`insert into appointments (clinic_id, id, patient_id, dentist_id, hygienist_id, operatory_id,
			starts_at, ends_at, type, status) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			s.c.ID, tenancy.NewID(), pt, dentist, hyg, chair, start, start.Add(30*time.Minute), typ, status)
	}
	if !alex.IsZero() {
		start := time.Date(monday.Year(), monday.Month(), monday.Day()+2, 10, 0, 0, 0, loc)
		if err := book(alex, staff["dentist"], nil, chairs[1], start, "Check-up", statuses(start)); err != nil {
			return fmt.Errorf("alex's appointment: %w", err)
		}
	}
	for day := range 5 {
		for slot := range 16 { // 09:00 to 16:30
			start := time.Date(monday.Year(), monday.Month(), monday.Day()+day, 9, 0, 0, 0, loc).Add(time.Duration(slot) * 30 * time.Minute)
			for ci, chair := range chairs {
				if rng.IntN(3) == 0 || taken[chairSlot{chair, start}] {
					continue
				}
				pt := patients[rng.IntN(len(patients))]
				if pt.id == alex || clash(booked[pt.id], start) {
					continue
				}
				// Chair 1 is the owner's, chair 2 the dentist's; chair 3 is the
				// hygienist's, supervised by the owner. No one is in two
				// places at once.
				dentist, typ := staff["owner"], types[rng.IntN(len(types))]
				var hyg *tenancy.ID
				switch ci {
				case 1:
					dentist = staff["dentist"]
				case 2:
					h := staff["hygienist"]
					hyg, typ = &h, "Hygiene"
				}
				if typ == "Hygiene" && ci != 2 {
					typ = "Check-up"
				}
				if err := book(pt.id, dentist, hyg, chair, start, typ, statuses(start)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// invoices writes one invoice per patient for the first ten patients
// (Alex included), issued, some paid in full, some in part.
func (s *clinicSeed) invoices() error {
	c, now := s.c, s.now
	for i, pt := range s.patients[:10] {
		inv := tenancy.NewID()
		var number int
		if err := s.tx.QueryRow(s.ctx, `update invoice_counters set last_number = last_number + 1 where clinic_id = $1 returning last_number`, c.ID).Scan(&number); err != nil {
			return err
		}
		lines := []int{0, 1}
		if i%3 == 0 {
			lines = append(lines, 3)
		}
		var total int64
		for _, li := range lines {
			total += fees[li].price
		}
		issued := now.Add(-time.Duration(24*(i+1)) * time.Hour)
		if err := s.exec(`insert into invoices (clinic_id, id, number, patient_id, currency, status, total_minor, issued_at)
			values ($1, $2, $3, $4, $5, 'issued', $6, $7)`, c.ID, inv, number, pt.id, c.Currency, total, issued); err != nil {
			return err
		}
		for n, li := range lines {
			if err := s.exec(`insert into invoice_lines (clinic_id, invoice_id, patient_id, line_no, code, description, quantity, unit_price_minor, amount_minor)
				values ($1, $2, $3, $4, $5, $6, 1, $7, $7)`, c.ID, inv, pt.id, n+1, fees[li].code, fees[li].desc, fees[li].price); err != nil {
				return err
			}
		}
		var paid int64
		switch i % 3 {
		case 0:
			paid = total
		case 1:
			paid = total / 2
		}
		if paid > 0 {
			if err := s.exec(`insert into payments (clinic_id, id, invoice_id, patient_id, amount_minor, method, received_at)
				values ($1, $2, $3, $4, $5, 'card', $6)`, c.ID, tenancy.NewID(), inv, pt.id, paid, issued.Add(time.Hour)); err != nil {
				return err
			}
		}
	}
	return nil
}

// prescriptions writes prescriptions for the first six patients, by the
// dentist.
func (s *clinicSeed) prescriptions() error {
	for i, pt := range s.patients[:6] {
		if err := s.exec(`insert into prescriptions (clinic_id, id, patient_id, dentist_id, drug, strength, form, directions,
			quantity, refills, prescribed_on) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			s.c.ID, tenancy.NewID(), pt.id, s.staff["dentist"], []string{"Amoxicillin", "Ibuprofen", "Chlorhexidine"}[i%3],
			[]string{"500 mg", "400 mg", "0.2%"}[i%3], []string{"capsule", "tablet", "mouthwash"}[i%3],
			"As directed by your dentist.", 21, 0, s.now.In(s.loc).AddDate(0, 0, -i)); err != nil {
			return err
		}
	}
	return nil
}

// portalAccount writes Alex's portal account (PortalEmail, Password), where
// the clinic has Alex.
func (s *clinicSeed) portalAccount() error {
	if s.alex.IsZero() {
		return nil
	}
	h, err := s.hash()
	if err != nil {
		return err
	}
	return s.exec(`insert into portal_accounts (clinic_id, id, patient_id, email, password_hash) values ($1, $2, $3, $4, $5)`,
		s.c.ID, tenancy.NewID(), s.alex, PortalEmail, h)
}

func clash(starts []time.Time, t time.Time) bool {
	for _, s := range starts {
		if d := s.Sub(t); d > -30*time.Minute && d < 30*time.Minute {
			return true
		}
	}
	return false
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
