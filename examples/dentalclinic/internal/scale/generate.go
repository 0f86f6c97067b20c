// Package scale generates the reference app's database at clinic scale
// (by default 1,000 clinics, 2,000,000 patients, 10,000,000 appointments,
// with invoices and prescriptions in proportion) and measures it: the
// generator behind cmd/dentalgen, the row-level security benchmarks behind
// cmd/dentalrls, and the helpers that cmd/dentalload uses.
//
// Data is made on the server (INSERT ... SELECT over generate_series) by
// several connections at once, as the owner role, with the big tables'
// keys, indexes and foreign keys dropped during the load and built (and
// checked) afterwards. The appointments' three exclusion constraints stay
// in place: built afterwards, each is one process inserting every row into
// its GiST index and then probing it once per row, one constraint after
// another (each takes the table's exclusive lock), which took three times
// as long as loading with them spread over the workers. Row-level security
// and every constraint are as the app's migrations leave them.
package scale

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/embedded"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/rls"
)

// Scale is how much to generate. Per-clinic counts are the totals divided
// by Clinics, rounded down.
type Scale struct {
	Clinics       int
	Patients      int // in total; at least 4 per clinic
	Appointments  int // in total
	Invoices      int // in total; each has two lines; about 40% have a payment
	Prescriptions int // in total
	Workers       int // concurrent loading connections
}

// Default is the scale: 1,000 clinics, 2,000,000 patients,
// 10,000,000 appointments, an invoice per four appointments and a
// prescription per ten.
var Default = Scale{Clinics: 1000, Patients: 2_000_000, Appointments: 10_000_000, Invoices: 2_500_000, Prescriptions: 1_000_000, Workers: 2}

// Password is the password of every generated staff account.
const Password = "dentalgen-scale"

// Staff per generated clinic: index in the clinic, email local part, roles.
// Staff 0-3 are the dentists of chairs 0-3; 4 and 5 the hygienists of
// chairs 0 and 1.
var staff = []struct {
	local string
	roles string
}{
	{"owner", "{owner,dentist}"}, {"dentist1", "{dentist}"}, {"dentist2", "{dentist}"}, {"dentist3", "{dentist}"},
	{"hygienist1", "{hygienist}"}, {"hygienist2", "{hygienist}"}, {"frontdesk", "{front_desk,billing}"},
}

// Chairs per generated clinic.
const chairs = 4

// slotsPerDay are the half-hour slots of a chair's day, 08:00 to 16:00.
const slotsPerDay = 16

// TimeZone is every generated clinic's time zone.
const TimeZone = "Europe/London"

// ClinicID returns the id of generated clinic n (1-based).
func ClinicID(n int) tenancy.ID { return tenancy.MustParseID(uid(1, int64(n))) }

// StaffID returns the id of staff member s (see StaffEmail) of clinic n.
func StaffID(n, s int) tenancy.ID { return tenancy.MustParseID(uid(2, int64(n)*16+int64(s))) }

// StaffEmail returns the sign-in of staff member s of clinic n: 0 is the
// owner (also a dentist), 1-3 dentists, 4-5 hygienists, 6 the front desk
// (with billing).
func StaffEmail(n, s int) string {
	return fmt.Sprintf("%s@clinic%04d.scale.example", staff[s].local, n)
}

// uid is the Go twin of the SQL function pg_temp.uid.
func uid(table int, n int64) string { return fmt.Sprintf("0195f1c3-%04x-7000-8000-%012x", table, n) }

// setup defines, on one connection, the helper that makes ids: a valid
// UUIDv7-shaped id from a table code and a number.
const setup = `
CREATE OR REPLACE FUNCTION pg_temp.uid(t int, n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ('0195f1c3-' || lpad(to_hex(t), 4, '0') || '-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$;
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
SET max_parallel_maintenance_workers = 2;
SET work_mem = '256MB';
`

// Report is what a generation did and how long it took.
type Report struct {
	Scale    Scale
	Rows     map[string]int64 // rows per table, counted after loading
	Phases   []Phase
	Total    time.Duration
	DiskSize int64 // pg_database_size, bytes
}

// Phase is one timed step of a generation.
type Phase struct {
	Name string
	Took time.Duration
}

// perClinic are the per-clinic counts of a Scale.
type perClinic struct{ patients, appointments, invoices, prescriptions int }

func (s Scale) perClinic() perClinic {
	return perClinic{s.Patients / s.Clinics, s.Appointments / s.Clinics, s.Invoices / s.Clinics, s.Prescriptions / s.Clinics}
}

// Validate reports a Scale that cannot be generated.
func (s Scale) Validate() error {
	switch {
	case s.Clinics < 1:
		return errors.New("scale: at least one clinic")
	case s.Patients/max(s.Clinics, 1) < chairs:
		return fmt.Errorf("scale: at least %d patients per clinic", chairs)
	case s.Appointments < 0 || s.Invoices < 0 || s.Prescriptions < 0:
		return errors.New("scale: counts must not be negative")
	case s.Workers < 1:
		return errors.New("scale: at least one worker")
	}
	return nil
}

// bigTables are loaded with their keys, indexes and foreign keys dropped.
var bigTables = []string{"patients", "appointments", "invoices", "invoice_lines", "payments", "prescriptions"}

// Generate migrates the database at conns.Owner (which must bypass
// row-level security, as the app's owner role does) and fills it at scale
// s. The database must hold no clinics. Progress goes to log. now anchors
// the appointments: they span weekdays from months before now to months
// after.
func Generate(ctx context.Context, conns Conns, s Scale, now time.Time, log io.Writer) (Report, error) {
	if err := s.Validate(); err != nil {
		return Report{}, err
	}
	rep := Report{Scale: s, Rows: map[string]int64{}}
	start := time.Now()
	phase := func(name string, f func() error) error {
		t := time.Now()
		fmt.Fprintf(log, "%s ...\n", name)
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		p := Phase{name, time.Since(t).Round(time.Millisecond)}
		rep.Phases = append(rep.Phases, p)
		fmt.Fprintf(log, "%s: %s\n", name, p.Took)
		return nil
	}
	roles, err := roleNames(conns)
	if err != nil {
		return rep, err
	}
	if err := phase("migrate", func() error { _, err := migrations.Up(ctx, conns.Migrations(), roles); return err }); err != nil {
		return rep, err
	}
	cfg, err := pgxpool.ParseConfig(conns.Owner)
	if err != nil {
		return rep, err
	}
	cfg.MaxConns = int32(s.Workers)
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error { _, err := c.Exec(ctx, setup); return err }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return rep, err
	}
	defer pool.Close()

	var n int
	if err := pool.QueryRow(ctx, "select count(*) from clinics").Scan(&n); err != nil {
		return rep, err
	}
	if n > 0 {
		return rep, fmt.Errorf("scale: the database already holds %d clinics", n)
	}
	var rebuild []string
	if err := phase("drop keys and indexes of the big tables", func() error {
		rebuild, err = dropConstraints(ctx, pool)
		return err
	}); err != nil {
		return rep, err
	}
	if err := phase("clinics, staff, chairs, fees", func() error { return small(ctx, pool, s) }); err != nil {
		return rep, err
	}
	if err := phase("patients, appointments, invoices, lines, payments, prescriptions", func() error {
		return big(ctx, pool, s, now, log)
	}); err != nil {
		return rep, err
	}
	if err := phase("keys and indexes, then foreign keys", func() error {
		return parallel(ctx, pool, rebuild, log)
	}); err != nil {
		return rep, err
	}
	if err := phase("vacuum and analyze", func() error {
		var stmts []string
		for _, t := range append([]string{"clinics", "clinic_settings", "operatories", "fee_schedule", "staff", "invoice_counters"}, bigTables...) {
			stmts = append(stmts, "VACUUM (ANALYZE) "+t)
		}
		return parallel(ctx, pool, stmts, log)
	}); err != nil {
		return rep, err
	}
	for _, t := range append([]string{"clinics", "staff"}, bigTables...) {
		var c int64
		if err := pool.QueryRow(ctx, "select count(*) from "+t).Scan(&c); err != nil {
			return rep, err
		}
		rep.Rows[t] = c
	}
	if err := pool.QueryRow(ctx, "select pg_database_size(current_database())").Scan(&rep.DiskSize); err != nil {
		return rep, err
	}
	rep.Total = time.Since(start).Round(time.Millisecond)
	return rep, nil
}

// Model returns the app's isolation model for the roles of conns, with
// app as the app role (the benchmark's naive variants connect as roles of
// their own).
func Model(c Conns, app string) (*rls.Model, error) {
	roles, err := roleNames(c)
	if err != nil {
		return nil, err
	}
	roles.App = app
	return migrations.Model(roles)
}

func roleNames(c Conns) (migrations.Roles, error) {
	var r migrations.Roles
	for _, x := range []struct {
		conn string
		name *string
	}{{c.Owner, &r.Owner}, {c.App, &r.App}, {c.Platform, &r.Platform}} {
		cfg, err := pgx.ParseConfig(x.conn)
		if err != nil {
			return r, err
		}
		*x.name = cfg.User
	}
	r.Audit = cmp.Or(c.AuditRole, embedded.Roles.Audit) // NOLOGIN: no connection names it
	return r, nil
}

// dropConstraints drops the big tables' primary keys, unique constraints,
// foreign keys (theirs and those that point at them) and other indexes,
// and returns the statements that make them again: keys first, then
// indexes, then foreign keys (each checked against all the rows).
func dropConstraints(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `
		select c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype::text
		from pg_constraint c
		where (c.conrelid = any($1::regclass[]) and c.contype in ('p', 'u', 'f'))
		   or (c.confrelid = any($1::regclass[]) and c.contype = 'f')
		order by c.contype = 'f' desc, c.conrelid::regclass::text, c.conname`, bigTables)
	if err != nil {
		return nil, err
	}
	type con struct{ Table, Name, Def, Typ string }
	cons, err := pgx.CollectRows(rows, pgx.RowToStructByPos[con])
	if err != nil {
		return nil, err
	}
	rows, err = pool.Query(ctx, `
		select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		from pg_index i
		where i.indrelid = any($1::regclass[])
		  and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
		order by 1`, bigTables)
	if err != nil {
		return nil, err
	}
	type idx struct{ Name, Def string }
	idxs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[idx])
	if err != nil {
		return nil, err
	}
	var drop, keys, others, fks []string
	for _, c := range cons {
		drop = append(drop, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", c.Table, pgx.Identifier{c.Name}.Sanitize()))
		add := fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", c.Table, pgx.Identifier{c.Name}.Sanitize(), c.Def)
		switch c.Typ {
		case "f":
			fks = append(fks, add)
		default:
			keys = append(keys, add)
		}
	}
	for _, i := range idxs {
		drop = append(drop, "DROP INDEX "+i.Name)
		others = append(others, i.Def)
	}
	for _, d := range drop {
		if _, err := pool.Exec(ctx, d); err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
	}
	// Keys before what depends on them.
	out := append(keys, others...)
	return append(out, fks...), nil
}

// parallel runs stmts on the pool's connections, in order of start, with
// a barrier before the foreign keys (they need every key built).
func parallel(ctx context.Context, pool *pgxpool.Pool, stmts []string, log io.Writer) error {
	var before, after []string
	for _, s := range stmts {
		if strings.Contains(s, "FOREIGN KEY") {
			after = append(after, s)
		} else {
			before = append(before, s)
		}
	}
	for _, batch := range [][]string{before, after} {
		if err := runQueue(ctx, int(pool.Config().MaxConns), batch, func(s string) error {
			t := time.Now()
			if _, err := pool.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
			fmt.Fprintf(log, "  %s  %s\n", time.Since(t).Round(time.Millisecond), short(s))
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 110 {
		s = s[:110] + "..."
	}
	return s
}

// runQueue runs f over items with n workers, stopping at the first error.
func runQueue[T any](ctx context.Context, n int, items []T, f func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan T)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := f(it); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
loop:
	for _, it := range items {
		select {
		case ch <- it:
		case <-ctx.Done():
			break loop
		}
	}
	close(ch)
	wg.Wait()
	return first
}

// Names the generator draws from.
var (
	givenNames  = []string{"Sam", "Charlie", "Jamie", "Taylor", "Riley", "Casey", "Avery", "Quinn", "Robin", "Drew", "Kim", "Lee", "Morgan", "Parker", "Rowan", "Sasha", "Alex", "Jordan", "Billie", "Frankie", "Emery", "Hayden", "Jesse", "Kai"}
	familyNames = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright", "Walker", "Evans", "Thomas", "Roberts", "Green", "Hall", "Wood", "Clarke", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris", "King", "Baker", "Harris", "Lewis", "Young", "Allen", "Mitchell", "Scott", "Khan", "Ali", "Martin", "Jackson", "Lee", "Shaw"}
	apptTypes   = []string{"Check-up", "Hygiene", "Filling", "Extraction", "Consultation", "Root canal", "Crown fitting", "Emergency"}
	drugs       = []string{"Amoxicillin", "Metronidazole", "Ibuprofen", "Paracetamol", "Chlorhexidine mouthwash", "Fluoride toothpaste 5000ppm"}
)

func textArray(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "'" + strings.ReplaceAll(x, "'", "''") + "'"
	}
	return "ARRAY[" + strings.Join(q, ",") + "]"
}

// small writes the clinics and their small tables in one statement each.
func small(ctx context.Context, pool *pgxpool.Pool, s Scale) error {
	hash, err := passwords.Hash(Password)
	if err != nil {
		return err
	}
	per := s.perClinic()
	var staffRows []string
	for i, st := range staff {
		staffRows = append(staffRows, fmt.Sprintf("(%d, '%s', '%s'::text[])", i, st.local, st.roles))
	}
	weekday := `[["08:00","16:00"]]`
	hours := `{"mon":` + weekday + `,"tue":` + weekday + `,"wed":` + weekday + `,"thu":` + weekday + `,"fri":` + weekday + `,"sat":[],"sun":[]}`
	stmts := []struct {
		sql  string
		args []any
	}{
		{`insert into clinics (id, name, time_zone, currency)
			select pg_temp.uid(1, c), 'Scale Clinic ' || lpad(c::text, 4, '0'), $2, 'GBP' from generate_series(1, $1) c`,
			[]any{s.Clinics, TimeZone}},
		{`insert into clinic_settings (clinic_id, opening_hours) select pg_temp.uid(1, c), $2::jsonb from generate_series(1, $1) c`,
			[]any{s.Clinics, hours}},
		{`insert into operatories (clinic_id, id, name) select pg_temp.uid(1, c), pg_temp.uid(3, c * 16 + o), 'Chair ' || (o + 1)
			from generate_series(1, $1) c, generate_series(0, $2 - 1) o`, []any{s.Clinics, chairs}},
		{`insert into fee_schedule (clinic_id, code, description, price_minor)
			select pg_temp.uid(1, c), f.code, f.descr, f.price from generate_series(1, $1) c,
			(values ('EXAM', 'Examination', 4500), ('XRAY', 'Bitewing X-rays', 3500), ('SCALE', 'Scale and polish', 6500),
				('FILL1', 'Filling, one surface', 9500), ('FILL2', 'Filling, two surfaces', 13000), ('EXTR', 'Extraction', 15000)) f(code, descr, price)`,
			[]any{s.Clinics}},
		{`insert into staff (clinic_id, id, email, name, roles, password_hash)
			select pg_temp.uid(1, c), pg_temp.uid(2, c * 16 + st.i), st.local || '@clinic' || lpad(c::text, 4, '0') || '.scale.example',
				initcap(st.local) || ' of clinic ' || c, st.roles, $2
			from generate_series(1, $1) c, (values ` + strings.Join(staffRows, ", ") + `) st(i, local, roles)`,
			[]any{s.Clinics, hash}},
		{`insert into invoice_counters (clinic_id, last_number) select pg_temp.uid(1, c), $2 from generate_series(1, $1) c`,
			[]any{s.Clinics, per.invoices}},
	}
	for _, st := range stmts {
		if _, err := pool.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("%s: %w", short(st.sql), err)
		}
	}
	return nil
}

// FirstDay returns the first day of the generated appointments for s and
// now: a Monday about half the span before now, so that about half are in
// the past.
func FirstDay(s Scale, now time.Time) time.Time {
	per := s.perClinic()
	days := (per.appointments/chairs + slotsPerDay - 1) / slotsPerDay // weekdays
	weeks := (days + 4) / 5
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -weeks*7/2)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// DayOf returns the date of weekday number d (0-based) after first.
func DayOf(first time.Time, d int) time.Time { return first.AddDate(0, 0, d/5*7+d%5) }

// big fills the big tables, a chunk of clinics at a time, with the
// workers' connections. Appointment k of a clinic is in chair k%4, slot
// k/4 (half-hour slots, 16 a day, weekdays only), with patient k%P: so no
// chair, patient or hygienist is ever double-booked and the exclusion
// constraints hold.
func big(ctx context.Context, pool *pgxpool.Pool, s Scale, now time.Time, log io.Writer) error {
	per := s.perClinic()
	first := FirstDay(s, now)
	type chunk struct{ from, to int }
	size := max(1, min(50, s.Clinics/(4*s.Workers)))
	var chunks []chunk
	for c := 1; c <= s.Clinics; c += size {
		chunks = append(chunks, chunk{c, min(c+size-1, s.Clinics)})
	}
	given, family := textArray(givenNames), textArray(familyNames)
	stmts := []string{
		`insert into patients (clinic_id, id, given_name, family_name, date_of_birth, sex, phone, email, address, status,
			medical_alerts, allergies, primary_dentist_id, created_at, updated_at)
		select pg_temp.uid(1, c), pg_temp.uid(4, (c - 1)::bigint * @pc::int + k),
			(` + given + `)[1 + (k * 7 + c) % ` + fmt.Sprint(len(givenNames)) + `],
			(` + family + `)[1 + ((k::bigint * 2654435761 + c * 97) % ` + fmt.Sprint(len(familyNames)) + `)],
			date '1940-01-01' + ((k * 7919 + c) % 29000)::int,
			(ARRAY['female','male','female','male','other','unknown'])[1 + k % 6],
			'+44 7700 ' || lpad(((k::bigint * 31 + c * 17) % 1000000)::text, 6, '0'),
			'patient' || k || '@clinic' || c || '.example',
			k || ' High Street, Town ' || c,
			case when k % 50 = 0 then 'archived' when k % 10 = 0 then 'inactive' else 'active' end,
			case when k % 13 = 0 then '{Penicillin allergy}'::text[] else '{}' end,
			case when k % 17 = 0 then '{Latex}'::text[] else '{}' end,
			pg_temp.uid(2, c * 16 + k % 4),
			timestamptz '2020-01-01' + k * interval '1 hour', timestamptz '2020-01-01' + k * interval '1 hour'
		from generate_series(@from::int, @to::int) c, generate_series(0, @pc::int - 1) k`,

		`insert into appointments (clinic_id, id, patient_id, dentist_id, hygienist_id, operatory_id, starts_at, ends_at,
			type, note, status, created_at, updated_at)
		select pg_temp.uid(1, c), pg_temp.uid(5, (c - 1)::bigint * @ac::int + k), pg_temp.uid(4, (c - 1)::bigint * @pc::int + k % @pc::int),
			pg_temp.uid(2, c * 16 + k % 4), case when k % 4 < 2 then pg_temp.uid(2, c * 16 + 4 + k % 4) end,
			pg_temp.uid(3, c * 16 + k % 4), t.starts, t.starts + interval '30 minutes',
			(` + textArray(apptTypes) + `)[1 + (k / 4) % ` + fmt.Sprint(len(apptTypes)) + `],
			case when k % 7 = 0 then 'Patient prefers mornings' else '' end,
			case when t.starts >= @now::timestamptz then (case when k % 3 = 0 then 'confirmed' else 'scheduled' end)
				when k % 20 = 0 then 'cancelled' when k % 20 = 1 then 'no_show' else 'completed' end,
			t.starts - interval '14 days', t.starts - interval '14 days'
		from generate_series(@from::int, @to::int) c, generate_series(0, @ac::int - 1) k,
			lateral (select ((@first::date + ((k / 4 / 16) / 5 * 7 + (k / 4 / 16) % 5)) + time '08:00'
				+ ((k / 4) % 16) * interval '30 minutes') at time zone '` + TimeZone + `' as starts) t`,

		`insert into invoices (clinic_id, id, number, patient_id, currency, status, total_minor, issued_at, voided_at, created_at)
		select pg_temp.uid(1, c), pg_temp.uid(6, (c - 1)::bigint * @ic::int + i), i + 1, pg_temp.uid(4, (c - 1)::bigint * @pc::int + (i * 4) % @pc::int),
			'GBP', case when i % 25 = 0 then 'void' when i % 10 = 1 then 'draft' else 'issued' end,
			4500 + (ARRAY[3500, 6500, 9500, 13000, 15000])[1 + i % 5],
			case when i % 10 <> 1 then t.at end, case when i % 25 = 0 then t.at + interval '1 day' end, t.at
		from generate_series(@from::int, @to::int) c, generate_series(0, @ic::int - 1) i,
			lateral (select @now::timestamptz - (@ic::int - i) * interval '90 minutes' as at) t`,

		`insert into invoice_lines (clinic_id, invoice_id, patient_id, line_no, code, description, quantity, unit_price_minor, amount_minor)
		select pg_temp.uid(1, c), pg_temp.uid(6, (c - 1)::bigint * @ic::int + i), pg_temp.uid(4, (c - 1)::bigint * @pc::int + (i * 4) % @pc::int),
			l, case when l = 1 then 'EXAM' else (ARRAY['XRAY','SCALE','FILL1','FILL2','EXTR'])[1 + i % 5] end,
			case when l = 1 then 'Examination' else (ARRAY['Bitewing X-rays','Scale and polish','Filling, one surface','Filling, two surfaces','Extraction'])[1 + i % 5] end,
			1, p.price, p.price
		from generate_series(@from::int, @to::int) c, generate_series(0, @ic::int - 1) i, generate_series(1, 2) l,
			lateral (select case when l = 1 then 4500 else (ARRAY[3500, 6500, 9500, 13000, 15000])[1 + i % 5] end as price) p`,

		`insert into payments (clinic_id, id, invoice_id, patient_id, amount_minor, method, received_at)
		select pg_temp.uid(1, c), pg_temp.uid(7, (c - 1)::bigint * @ic::int + i), pg_temp.uid(6, (c - 1)::bigint * @ic::int + i),
			pg_temp.uid(4, (c - 1)::bigint * @pc::int + (i * 4) % @pc::int), 4500 + (ARRAY[3500, 6500, 9500, 13000, 15000])[1 + i % 5],
			(ARRAY['card','cash','insurance','bank_transfer'])[1 + i % 4], @now::timestamptz - (@ic::int - i) * interval '90 minutes' + interval '2 days'
		from generate_series(@from::int, @to::int) c, generate_series(0, @ic::int - 1) i
		where i % 2 = 0 and i % 25 <> 0 and i % 10 <> 1`,

		`insert into prescriptions (clinic_id, id, patient_id, dentist_id, drug, strength, form, directions, quantity, refills, prescribed_on, created_at)
		select pg_temp.uid(1, c), pg_temp.uid(8, (c - 1)::bigint * @rc::int + r), pg_temp.uid(4, (c - 1)::bigint * @pc::int + (r * 3) % @pc::int),
			pg_temp.uid(2, c * 16 + r % 4), (` + textArray(drugs) + `)[1 + r % ` + fmt.Sprint(len(drugs)) + `],
			'500 mg', 'capsule', 'One three times a day for five days', 15, 0,
			(@now::timestamptz - (@rc::int - r) * interval '7 hours')::date, @now::timestamptz - (@rc::int - r) * interval '7 hours'
		from generate_series(@from::int, @to::int) c, generate_series(0, @rc::int - 1) r`,
	}
	var mu sync.Mutex
	done := 0
	return runQueue(ctx, s.Workers, chunks, func(ch chunk) error {
		t := time.Now()
		for _, st := range stmts {
			if _, err := pool.Exec(ctx, st, pgx.NamedArgs{"from": ch.from, "to": ch.to, "pc": per.patients, "ac": per.appointments,
				"ic": per.invoices, "rc": per.prescriptions, "now": now, "first": first}); err != nil {
				return fmt.Errorf("%s: %w", short(st), err)
			}
		}
		mu.Lock()
		done += ch.to - ch.from + 1
		fmt.Fprintf(log, "  clinics %d-%d in %s (%d of %d)\n", ch.from, ch.to, time.Since(t).Round(time.Millisecond), done, s.Clinics)
		mu.Unlock()
		return nil
	})
}
