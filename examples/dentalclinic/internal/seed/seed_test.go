package seed_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var update = flag.Bool("update", false, "rewrite testdata/digest.golden from the seed as it is")

// seedNow anchors the demo week of the digest: a Wednesday.
var seedNow = time.Date(2026, 11, 25, 11, 17, 0, 0, time.UTC)

// digestQueries name what the seed writes in terms that do not depend on
// its random ids or password salts: each row by its own columns, and each
// reference by the natural key of the row it points at (a patient by name
// and birth date, staff by email, a chair by name, an invoice by number).
var digestQueries = map[string]string{
	"platform_admins":  `select email, name from platform_admins`,
	"clinics":          `select id, name, time_zone, currency from clinics`,
	"clinic_settings":  `select clinic_id, opening_hours::text from clinic_settings`,
	"invoice_counters": `select clinic_id, last_number from invoice_counters`,
	"operatories":      `select clinic_id, name from operatories`,
	"fee_schedule":     `select clinic_id, code, description, price_minor from fee_schedule`,
	"staff":            `select clinic_id, email, name, roles, length(password_hash) > 0 from staff`,
	"patients": `select p.clinic_id, p.given_name, p.family_name, p.date_of_birth, p.sex, p.phone, p.email,
		p.medical_alerts, p.allergies, d.email from patients p left join staff d on d.id = p.primary_dentist_id`,
	"appointments": `select a.clinic_id, p.given_name, p.family_name, p.date_of_birth, d.email, h.email, o.name,
		a.starts_at, a.ends_at, a.type, a.status
		from appointments a join patients p on p.id = a.patient_id join staff d on d.id = a.dentist_id
		left join staff h on h.id = a.hygienist_id join operatories o on o.id = a.operatory_id`,
	"invoices": `select i.clinic_id, i.number, p.given_name, p.family_name, p.date_of_birth, i.currency, i.status,
		i.total_minor, i.issued_at from invoices i join patients p on p.id = i.patient_id`,
	"invoice_lines": `select l.clinic_id, i.number, p.date_of_birth, l.line_no, l.code, l.description, l.quantity,
		l.unit_price_minor, l.amount_minor from invoice_lines l join invoices i on i.id = l.invoice_id
		join patients p on p.id = l.patient_id`,
	"payments": `select y.clinic_id, i.number, p.date_of_birth, y.amount_minor, y.method, y.received_at
		from payments y join invoices i on i.id = y.invoice_id join patients p on p.id = y.patient_id`,
	"prescriptions": `select r.clinic_id, p.given_name, p.family_name, p.date_of_birth, d.email, r.drug, r.strength,
		r.form, r.directions, r.quantity, r.refills, r.prescribed_on
		from prescriptions r join patients p on p.id = r.patient_id join staff d on d.id = r.dentist_id`,
	"portal_accounts": `select a.clinic_id, p.given_name, p.family_name, a.email, length(a.password_hash) > 0
		from portal_accounts a join patients p on p.id = a.patient_id`,
}

// TestWriteIsUnchanged writes the demo data at a fixed moment and compares
// each table's row count and a digest of its rows with
// testdata/digest.golden, recorded from the seed before it was split into
// steps: the demo data that docs and tests rely on stays the same. Run
// with -update to record a deliberate change. It also checks that every
// table the seed writes is in the digest.
func TestWriteIsUnchanged(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	roles := migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform), Audit: db.RoleName(pgtest.Audit)}
	if _, err := migrations.Up(ctx, migrations.Conns{Owner: db.ConnString(pgtest.Owner), AuditAdmin: db.ConnString(pgtest.Admin)}, roles); err != nil {
		t.Fatal(err)
	}
	admin := db.Conn(t, pgtest.Admin)
	rows, err := admin.Query(ctx, `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int {
		out := map[string]int{}
		for _, tbl := range tables {
			var n int
			if err := admin.QueryRow(ctx, "select count(*) from "+pgx.Identifier{tbl}.Sanitize()).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[tbl] = n
		}
		return out
	}
	before := counts()
	owner := db.Conn(t, pgtest.Owner)
	if err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error { return seed.Write(ctx, tx, seedNow) }); err != nil {
		t.Fatal(err)
	}
	// Every table the seed writes to must be in digestQueries.
	for tbl, n := range counts() {
		if _, ok := digestQueries[tbl]; n != before[tbl] && !ok {
			t.Errorf("the seed writes %d rows to %s, which the digest does not cover", n-before[tbl], tbl)
		}
	}

	var got strings.Builder
	for _, tbl := range tables {
		q, ok := digestQueries[tbl]
		if !ok {
			continue
		}
		rows, err := admin.Query(ctx, `select t::text from (`+q+`) t order by 1`)
		if err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		h := sha256.Sum256([]byte(strings.Join(texts, "\n")))
		fmt.Fprintf(&got, "%s %d %s\n", tbl, len(texts), hex.EncodeToString(h[:8]))
	}
	golden := filepath.Join("testdata", "digest.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("the seeded data changed (table rows digest):\n got:\n%s\nwant:\n%s", got.String(), want)
	}
}
