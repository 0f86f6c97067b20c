package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// newAdmin adds a platform admin named name (password seed.Password), as
// the database superuser, and returns its id and email.
func (a *testApp) newAdmin(t *testing.T, name string) (tenancy.ID, string) {
	t.Helper()
	hash, err := passwords.Hash(seed.Password)
	if err != nil {
		t.Fatal(err)
	}
	id := tenancy.NewID()
	email := "admin." + id.String()[24:] + "@example.org"
	if _, err := a.super.Exec(context.Background(), `insert into platform_admins (id, email, name, password_hash) values ($1, $2, $3, $4)`,
		id, email, name, hash); err != nil {
		t.Fatal(err)
	}
	return id, email
}

// impersonatorsAs calls auth.clinic_impersonators() as the app role, in a
// transaction whose context is p's (tenant and principal, as tenantdb
// sets them; a zero p sets none), and returns the names by admin id.
func (a *testApp) impersonatorsAs(t *testing.T, p tenancy.Principal) (map[tenancy.ID]string, error) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a.db.ConnString(pgtest.App))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[tenancy.ID]string{}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if !p.Tenant.IsZero() {
			if _, err := tx.Exec(ctx, "select set_config('"+rls.SettingTenantID+"', $1, true)", p.Tenant.String()); err != nil {
				return err
			}
		}
		if p.Kind != "" {
			enc, err := rls.EncodePrincipal(p)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "select set_config('"+rls.SettingPrincipal+"', $1, true)", enc); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `select admin_id, name from auth.clinic_impersonators()`)
		if err != nil {
			return err
		}
		var id tenancy.ID
		var name string
		_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error { out[id] = name; return nil })
		return err
	})
	return out, err
}

// TestAuditLogNamesAdmins: a platform admin who impersonated Riverside
// is named in Riverside's owner's audit log, "Pat Auditadmin (platform
// admin)", through auth.clinic_impersonators; the function names only
// the admins who have held a grant at the transaction's own clinic, to
// its owners only: not at Hillcrest (although the admin exists and acted
// at Riverside), not an admin who never had a grant, not to the front
// desk, and nothing (or an error) with no clinic in context. The audit
// rows still hold the admin's id only.
func TestAuditLogNamesAdmins(t *testing.T) {
	a := startApp(t)
	adminID, adminEmail := a.newAdmin(t, "Pat Auditadmin")
	neverID, _ := a.newAdmin(t, "Nora Nevergranted")
	alex := a.patientID(t, riverside, "Alex", "Morgan")

	adm := newClient(t, a.base)
	adm.signIn(adminEmail, false, "/admin")
	if p := adm.post("/admin/impersonate", url.Values{"csrf_token": {csrf(t, adm.get("/admin"))}, "clinic": {riverside.ID.String()},
		"reason": {"Ticket 23: admin names"}, "minutes": {"5"}}); p.status != http.StatusSeeOther {
		t.Fatalf("impersonate: %d %s", p.status, formError(p))
	}
	if p := adm.get("/patients/" + alex.String()); p.status != http.StatusOK {
		t.Fatalf("the impersonating admin opens Alex's chart: %d", p.status)
	}

	// What the checks below must not see exists: both admins, Pat's grant
	// at Riverside and events naming Pat there, none at Hillcrest.
	var admins, grants, events, hillGrants int
	a.one(t, &admins, `select count(*) from platform_admins where id in ($1, $2)`, adminID, neverID)
	a.one(t, &grants, `select count(*) from audit.impersonation_grants where tenant_id = $1 and admin_id = $2`, riverside.ID, adminID)
	a.one(t, &events, `select count(*) from audit.events where tenant_id = $1 and impersonator_id = $2`, riverside.ID, adminID)
	a.one(t, &hillGrants, `select count(*) from audit.impersonation_grants where tenant_id = $1 and admin_id = $2`, hillcrest.ID, adminID)
	if admins != 2 || grants != 1 || events == 0 || hillGrants != 0 {
		t.Fatalf("admins %d, Pat's grants at Riverside %d, events %d, grants at Hillcrest %d; want 2, 1, some, 0", admins, grants, events, hillGrants)
	}
	var named int
	a.one(t, &named, `select count(*) from audit.events where resource_id ilike '%Auditadmin%' or reason ilike '%Auditadmin%' or action ilike '%Auditadmin%'`)
	if named != 0 {
		t.Errorf("%d audit rows hold the admin's name", named)
	}

	t.Run("Riverside's owner", func(t *testing.T) {
		owner := newClient(t, a.base)
		owner.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
		rows := auditRows(owner.get("/audit?who=admins"))
		var chart bool
		for _, r := range rows {
			chart = chart || strings.Contains(r, "Pat Auditadmin (platform admin)") && strings.Contains(r, "Opened the chart of Alex Morgan")
			if strings.Contains(r, "Nevergranted") {
				t.Errorf("an entry names the admin who never acted here: %q", r)
			}
		}
		if !chart {
			t.Errorf("the log does not say Pat Auditadmin (platform admin) opened Alex's chart: %q", rows)
		}
	})
	t.Run("Hillcrest's owner", func(t *testing.T) {
		owner := newClient(t, a.base)
		owner.signIn(seed.StaffEmail("owner", hillcrest), false, "/schedule")
		if p := owner.get("/audit"); p.status != http.StatusOK || strings.Contains(p.body, "Auditadmin") {
			t.Errorf("Hillcrest's audit log (%d) names Riverside's impersonator", p.status)
		}
	})

	ownerOf := func(c seed.Clinic) tenancy.Principal {
		return tenancy.Principal{Kind: kinds.Staff, Tenant: c.ID, Subject: tenancy.NewID(), Roles: []string{"owner"}}
	}
	t.Run("the function", func(t *testing.T) {
		river, err := a.impersonatorsAs(t, ownerOf(riverside))
		if err != nil {
			t.Fatal(err)
		}
		if river[adminID] != "Pat Auditadmin" {
			t.Errorf("at Riverside: %q, want Pat Auditadmin", river)
		}
		if _, ok := river[neverID]; ok {
			t.Error("at Riverside it names an admin who never had a grant there")
		}
		hill, err := a.impersonatorsAs(t, ownerOf(hillcrest))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := hill[adminID]; ok {
			t.Errorf("at Hillcrest it names Riverside's impersonator: %q", hill)
		}
		desk := ownerOf(riverside)
		desk.Roles = []string{"front_desk"}
		if got, err := a.impersonatorsAs(t, desk); err != nil || len(got) != 0 {
			t.Errorf("to Riverside's front desk: %q, %v; want nothing", got, err)
		}
		noClinic := ownerOf(riverside)
		noClinic.Tenant = tenancy.ID{}
		if got, err := a.impersonatorsAs(t, noClinic); err == nil && len(got) != 0 {
			t.Errorf("an owner's principal with no clinic: %q, want nothing or an error", got)
		}
		if got, err := a.impersonatorsAs(t, tenancy.Principal{}); err == nil && len(got) != 0 {
			t.Errorf("no context at all: %q, want nothing or an error", got)
		}
	})
	t.Run("the owner role reads no grant", func(t *testing.T) {
		// Why the function reads the grants through the audit owner's
		// audit.impersonator_ids (migration 28): the owner role holds no
		// privilege on the audit tables.
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, a.db.ConnString(pgtest.Owner))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		err = conn.QueryRow(ctx, `select count(*) from audit.impersonation_grants`).Scan(&n)
		if err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("the owner role reads audit.impersonation_grants: %d rows, %v; want permission denied", n, err)
		}
	})
}
