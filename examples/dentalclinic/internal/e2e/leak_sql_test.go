package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// TestLeakSQL probes every tenant table of the app's isolation model, its
// own and the audit log's, each by its own tenant column, as the app role,
// after checking that the model classifies every relation the app role
// can reach: in Riverside's context, no statement reads,
// changes, deletes, claims or returns Hillcrest's rows, and without a
// context nothing is read. The probe rolls everything back; it must not
// run in parallel with tests that write Hillcrest's rows.
func TestLeakSQL(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	owner := a.DB.Conn(t, pgtest.Owner) // BYPASSRLS in these tests: sees every clinic

	// The demo data leaves some tables empty; give both clinics rows there,
	// so that no check passes vacuously.
	//
	// Portal invites: one expired invite per clinic, removed afterwards.
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		code := "tenancytest-" + tenancy.NewID().String()
		if _, err := owner.Exec(ctx, `insert into portal_invites (clinic_id, code_hash, patient_id, expires_at)
			select clinic_id, $2, id, now() - interval '1 day' from patients where clinic_id = $1 order by id limit 1`, c.ID, code); err != nil {
			t.Fatalf("invite at %s: %v", c.Slug, err)
		}
		t.Cleanup(func() {
			if _, err := owner.Exec(context.Background(), `delete from portal_invites where clinic_id = $1 and code_hash = $2`, c.ID, code); err != nil {
				t.Errorf("removing the invite at %s: %v", c.Slug, err)
			}
		})
	}
	// Reminders: a booking of each clinic, far ahead, enqueues a reminder
	// job (River's job table is a tenant table); a reminder in each
	// clinic's outbox, written as the owner, removed afterwards.
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		f := newSchedFix(t, c)
		f.mustBook(t, f.booking(f.patient(t), f.at(9, 0), 30))
		if _, err := owner.Exec(ctx, `insert into reminder_outbox (clinic_id, appointment_id, starts_at, patient_id, body, job_id)
			select clinic_id, id, starts_at, patient_id, 'SQL leak probe fixture', 0 from appointments
			where clinic_id = $1 and status = 'scheduled' order by id limit 1 on conflict do nothing`, c.ID); err != nil {
			t.Fatalf("reminder at %s: %v", c.Slug, err)
		}
		t.Cleanup(func() {
			if _, err := owner.Exec(context.Background(), `delete from reminder_outbox where clinic_id = $1 and job_id = 0`, c.ID); err != nil {
				t.Errorf("removing the reminder at %s: %v", c.Slug, err)
			}
		})
	}
	// The audit log is append-only, so its rows are made the way the app
	// makes them: a platform admin starts and ends an impersonation of each
	// clinic, which stores a grant, events and the chain's head.
	admin := a.SignIn(t, seed.AdminEmail, tenancy.ID{})
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		var g struct {
			GrantID tenancy.ID `json:"grant_id"`
		}
		r := a.Do(t, "POST", "/api/v1/admin/impersonations", admin, map[string]any{"clinic_id": c.ID, "reason": "SQL leak probe fixture", "minutes": 1})
		if r.Status != http.StatusCreated {
			t.Fatalf("impersonating %s: %d %s", c.Slug, r.Status, r.Body)
		}
		r.JSON(t, &g)
		if r := a.Do(t, "DELETE", "/api/v1/admin/impersonations/"+g.GrantID.String(), admin, nil); r.Status/100 != 2 {
			t.Fatalf("ending the impersonation of %s: %d %s", c.Slug, r.Status, r.Body)
		}
	}

	// Every relation the app role can reach is in the model, which is
	// where ProbeSQL takes the tenant tables from: a new tenant table
	// (whatever its tenant column is called) that is not added to the
	// model, and so to the isolation migration and the guard, fails here
	// instead of going unprobed. rls.Check's reach rules decide it, by the
	// app role's privileges, not by a column name.
	model := a.Model(t)
	findings, err := rls.Check(ctx, owner, model)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Code == rls.CodeUnknownRelation || f.Code == rls.CodePrivateReachable {
			t.Errorf("%v", f)
		}
	}

	tenancytest.ProbeSQL(t, tenancytest.SQLConfig{
		App: a.DB.Pool(t, pgtest.App),
		// The superuser: the owner role reads no audit table (the audit
		// owner owns them, and grants it nothing).
		Privileged: a.DB.Conn(t, pgtest.Admin),
		Model:      model,
		Tables: []tenancytest.SQLTable{
			// A chain head starts at seq 0 with the zero hash (a trigger
			// refuses any other new head, before row-level security
			// would): the INSERT checks write such a head for Hillcrest.
			{Name: "audit.chain_heads", Values: map[string]string{"seq": "0", "hash": "decode(repeat('00', 32), 'hex')"}},
		},
		TenantA: riverside.ID,
		TenantB: hillcrest.ID,
	})
}
