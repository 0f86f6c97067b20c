package rls_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// helperValues is what the generated helpers return in one transaction;
// nil is SQL NULL.
type helperValues struct {
	Tenant, Kind, Subject, Actor, Grant, RequestID *string
	Roles                                          []string
}

const readHelpers = `SELECT tenancy.current_tenant_id()::text, tenancy.principal_kind(),
	tenancy.current_subject_id()::text, tenancy.current_actor_id()::text, tenancy.current_grant_id()::text,
	tenancy.current_request_id(), tenancy.current_roles()`

func readContext(t *testing.T, conn *pgx.Conn, tenant, principal string) (helperValues, error) {
	t.Helper()
	var v helperValues
	err := pgx.BeginFunc(context.Background(), conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `SELECT set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', $2, true)`, tenant, principal); err != nil {
			return err
		}
		return tx.QueryRow(context.Background(), readHelpers).Scan(&v.Tenant, &v.Kind, &v.Subject, &v.Actor, &v.Grant, &v.RequestID, &v.Roles)
	})
	return v, err
}

func ptr(s string) *string { return &s }

// TestHelpersReadEncodePrincipal sets the context as tenantdb does, with
// EncodePrincipal, and reads every field back through the generated
// helpers, including request ids that contain the separator.
func TestHelpersReadEncodePrincipal(t *testing.T) {
	db := migrated(t)
	app := db.Conn(t, pgtest.App)
	admin := tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000ad")
	grant := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000006a")
	cases := []struct {
		name string
		p    tenancy.Principal
		want helperValues
	}{{
		name: "staff with roles",
		p:    tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA, Roles: []string{"owner", "dentist"}, RequestID: "req-1"},
		want: helperValues{Tenant: ptr(clinicA.String()), Kind: ptr("staff"), Subject: ptr(staffA.String()), Actor: ptr(staffA.String()), RequestID: ptr("req-1"), Roles: []string{"owner", "dentist"}},
	}, {
		name: "patient, no roles, no request id",
		p:    tenancy.Principal{Kind: tenancy.Kind("patient"), Tenant: clinicB, Subject: patientA1},
		want: helperValues{Tenant: ptr(clinicB.String()), Kind: ptr("patient"), Subject: ptr(patientA1.String()), Actor: ptr(patientA1.String())},
	}, {
		name: "impersonating admin",
		p: tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Tenant: clinicA, Subject: admin, Roles: []string{"support"},
			Impersonation: &tenancy.Impersonation{GrantID: grant, Admin: admin}, RequestID: "r"},
		want: helperValues{Tenant: ptr(clinicA.String()), Kind: ptr("platform_admin"), Subject: ptr(admin.String()), Actor: ptr(admin.String()),
			Grant: ptr(grant.String()), RequestID: ptr("r"), Roles: []string{"support"}},
	}, {
		name: "request id with separators and quotes",
		p:    tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA, RequestID: "a|b||c|d|e|f ' \" \\ é"},
		want: helperValues{Tenant: ptr(clinicA.String()), Kind: ptr("staff"), Subject: ptr(staffA.String()), Actor: ptr(staffA.String()),
			RequestID: ptr("a|b||c|d|e|f ' \" \\ é")},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := rls.EncodePrincipal(c.p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readContext(t, app, c.p.Tenant.String(), v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("helpers read %q (-want +got):\n%s", v, diff)
			}
		})
	}
}

// TestHelpersMissingContext: without a principal setting principal_kind,
// current_subject_id and current_roles raise TN001 (the helpers that
// policies read, so that a policy reading only them fails closed whichever
// policy the planner evaluates first) and the other principal fields are
// NULL; with a principal whose fields are empty, every field but the kind
// is NULL; without a tenant,
// current_tenant_id raises TN001, also when called directly rather than
// from a policy.
func TestHelpersMissingContext(t *testing.T) {
	db := migrated(t)
	app := db.Conn(t, pgtest.App)
	for _, principal := range []string{"", "|||||"} {
		_, err := readContext(t, app, clinicA.String(), principal)
		if got := sqlState(err); got != rls.SQLStateNoTenant {
			t.Errorf("principal %q: SQLSTATE %q (%v), want %s", principal, got, err, rls.SQLStateNoTenant)
		}
		inTx := func(sql string, dest ...any) error {
			return pgx.BeginFunc(context.Background(), app, func(tx pgx.Tx) error {
				if _, err := tx.Exec(context.Background(), `SELECT set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', $2, true)`, clinicA.String(), principal); err != nil {
					return err
				}
				return tx.QueryRow(context.Background(), sql).Scan(dest...)
			})
		}
		var got helperValues
		if err := inTx(`SELECT tenancy.current_tenant_id()::text, tenancy.current_actor_id()::text, tenancy.current_grant_id()::text,
				tenancy.current_request_id()`, &got.Tenant, &got.Actor, &got.Grant, &got.RequestID); err != nil {
			t.Fatal(err)
		}
		for _, helper := range []string{"current_subject_id()::text", "current_roles()::text"} {
			var v *string
			err := inTx(`SELECT tenancy.`+helper, &v)
			switch {
			case principal == "" && sqlState(err) != rls.SQLStateNoTenant:
				t.Errorf("no principal: %s = %v, %v; want SQLSTATE %s", helper, v, err, rls.SQLStateNoTenant)
			case principal != "" && (err != nil || v != nil):
				t.Errorf("principal %q: %s = %v, %v; want NULL", principal, helper, v, err)
			}
		}
		if diff := cmp.Diff(helperValues{Tenant: ptr(clinicA.String())}, got); diff != "" {
			t.Errorf("principal %q (-want +got):\n%s", principal, diff)
		}
	}
	for _, tenant := range []string{"", "   "} {
		_, err := readContext(t, app, tenant, "staff|||||")
		if tenant == "" {
			if got := sqlState(err); got != rls.SQLStateNoTenant {
				t.Errorf("empty tenant: SQLSTATE %q (%v), want %s", got, err, rls.SQLStateNoTenant)
			}
		} else if got := sqlState(err); got != "22P02" { // not a uuid: fails, never matches
			t.Errorf("blank tenant: SQLSTATE %q (%v), want 22P02", got, err)
		}
	}
	// Never set at all in this session's transaction.
	err := pgx.BeginFunc(context.Background(), app, func(tx pgx.Tx) error {
		var s *string
		return tx.QueryRow(context.Background(), "SELECT tenancy.current_tenant_id()::text").Scan(&s)
	})
	if got := sqlState(err); got != rls.SQLStateNoTenant {
		t.Errorf("unset tenant: SQLSTATE %q (%v), want %s", got, err, rls.SQLStateNoTenant)
	}
	err = pgx.BeginFunc(context.Background(), app, func(tx pgx.Tx) error {
		var s *string
		return tx.QueryRow(context.Background(), "SELECT tenancy.principal_kind()").Scan(&s)
	})
	if got := sqlState(err); got != rls.SQLStateNoTenant {
		t.Errorf("unset principal: SQLSTATE %q (%v), want %s", got, err, rls.SQLStateNoTenant)
	}
}

// TestHelpersAreInlined: the SQL helpers have no SET clause and are
// inlined into the statement (EXPLAIN VERBOSE shows current_setting, not a
// call of the helper), so a policy costs a setting lookup per statement.
func TestHelpersAreInlined(t *testing.T) {
	db := migrated(t)
	app := db.Conn(t, pgtest.App)
	v, err := rls.EncodePrincipal(tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA})
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(context.Background(), app, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `SELECT set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', $2, true)`, clinicA.String(), v); err != nil {
			return err
		}
		rows, err := tx.Query(context.Background(), `EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM public.patients WHERE id = $1`, patientA1.String())
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "current_setting('tenancy.tenant_id'") {
			t.Errorf("the tenant helper is not inlined:\n%s", plan)
		}
		for _, call := range []string{"current_tenant_id()", "principal_kind()", "current_subject_id()"} {
			if strings.Contains(plan, call) {
				t.Errorf("plan calls %s instead of inlining it:\n%s", call, plan)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEncodePrincipalRefusesAmbiguousRoles(t *testing.T) {
	for _, role := range []string{"", "a,b", "a|b", "{a}", `a"b`, `a\b`} {
		_, err := rls.EncodePrincipal(tenancy.Principal{Kind: tenancy.Kind("staff"), Roles: []string{"owner", role}})
		if !errors.Is(err, tenancy.ErrInvalidPrincipal) {
			t.Errorf("role %q: err = %v, want ErrInvalidPrincipal", role, err)
		}
	}
}

func ExampleEncodePrincipal() {
	v, err := rls.EncodePrincipal(tenancy.Principal{
		Kind:      tenancy.Kind("staff"),
		Tenant:    tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000101"),
		Subject:   tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000001aa"),
		Roles:     []string{"owner", "dentist"},
		RequestID: "req-7",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(v)
	// Output:
	// staff|0195f1c2-0000-7000-8000-0000000001aa|0195f1c2-0000-7000-8000-0000000001aa||owner,dentist|req-7
}

// TestReadRolesPolicyFailsClosed: the read-roles policy (RESTRICTIVE,
// ANDed with the tenant policy) fails with TN001 without a principal on its
// own, so a SELECT without a context fails closed whichever of the two
// policies the planner evaluates first, never answering zero rows. The
// table here has the read-roles policy beside a permissive policy that
// reads no setting, which is the order in which a planner that tests the
// read roles first sees them.
func TestReadRolesPolicyFailsClosed(t *testing.T) {
	db := migrated(t)
	db.Exec(t, pgtest.Owner, `
		create table public.rr (tenant_id uuid not null, v int);
		insert into public.rr values (gen_random_uuid(), 1);
		alter table public.rr enable row level security;
		alter table public.rr force row level security;
		create policy open on public.rr as permissive for select using (true);
		create policy roles on public.rr as restrictive for select using ((select tenancy.current_roles()) && array['owner']);`)
	db.Exec(t, pgtest.Owner, `grant select on public.rr to `+pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize())
	var n int
	err := db.Conn(t, pgtest.App).QueryRow(context.Background(), `select count(*) from public.rr`).Scan(&n)
	if got := sqlState(err); got != rls.SQLStateNoTenant {
		t.Errorf("SELECT without a principal under the read-roles policy: %d rows, %v; want SQLSTATE %s", n, err, rls.SQLStateNoTenant)
	}
}
