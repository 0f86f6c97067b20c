package rls_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// TestRolesSQL runs the roles recipe on a real cluster, twice, and reads
// back what it made: the attributes of each role, who may connect, and
// that the checker's role rules find nothing wrong with the app role.
func TestRolesSQL(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	admin := db.Conn(t, pgtest.Admin)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "rt_" + hex.EncodeToString(b[:])
	m, err := rls.NewModel(rls.Config{
		OwnerRole: prefix + "_owner", AppRole: prefix + "_app", PlatformRole: prefix + "_platform",
		AuditRole: prefix + "_audit", PreAuth: []string{"auth.lookup"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sql, err := m.RolesSQL(db.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Roles are cluster-wide: give the database back, then drop them.
		ctx := context.Background()
		names := prefix + "_owner, " + prefix + "_app, " + prefix + "_platform"
		for _, s := range []string{
			fmt.Sprintf("revoke all on database %s from %s", pgx.Identifier{db.Name}.Sanitize(), names),
			fmt.Sprintf("alter database %s owner to %s", pgx.Identifier{db.Name}.Sanitize(), pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()),
			"drop role if exists " + names + ", " + prefix + "_audit",
		} {
			if _, err := admin.Exec(ctx, s); err != nil {
				t.Errorf("cleanup: %s: %v", s, err)
			}
		}
	})
	for range 2 { // re-running is harmless
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("running the roles SQL: %v\n%s", err, sql)
		}
	}

	type attrs struct {
		Name                                                    string
		Login, Super, Bypass, CreateDB, CreateRole, Replication bool
		Connect, Temp                                           bool
	}
	rows, err := admin.Query(ctx, `
		select rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolreplication,
			has_database_privilege(oid, $2, 'CONNECT'), has_database_privilege(oid, $2, 'TEMPORARY')
		from pg_catalog.pg_roles where rolname like $1 || '\_%' order by rolname`, prefix, db.Name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[attrs])
	if err != nil {
		t.Fatal(err)
	}
	want := []attrs{
		{Name: prefix + "_app", Login: true, Connect: true},
		{Name: prefix + "_audit"},                                                       // NOLOGIN, and no CONNECT: no one logs in as the audit owner
		{Name: prefix + "_owner", Login: true, Bypass: true, Connect: true, Temp: true}, // the database's owner
		{Name: prefix + "_platform", Login: true, Connect: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("roles:\n got %v\nwant %v", got, want)
	}
	// The audit owner and the other roles: no membership either way, even
	// after a membership was granted before a re-run.
	if _, err := admin.Exec(ctx, "grant "+prefix+"_audit to "+prefix+"_owner"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
	var memberships int
	if err := admin.QueryRow(ctx, `select count(*) from pg_catalog.pg_auth_members m
		join pg_catalog.pg_roles r on r.oid = m.roleid join pg_catalog.pg_roles u on u.oid = m.member
		where (r.rolname = $1 || '_audit' and u.rolname like $1 || '\_%') or (u.rolname = $1 || '_audit' and r.rolname like $1 || '\_%')`,
		prefix).Scan(&memberships); err != nil {
		t.Fatal(err)
	}
	if memberships != 0 {
		t.Errorf("%d memberships between the audit owner and the other roles, want 0", memberships)
	}
	var public bool
	if err := admin.QueryRow(ctx, `select coalesce(bool_or(a.privilege_type = 'CONNECT'), false)
		from pg_catalog.pg_database d, aclexplode(d.datacl) a where d.datname = $1 and a.grantee = 0`, db.Name).Scan(&public); err != nil {
		t.Fatal(err)
	}
	if public {
		t.Error("PUBLIC may still connect")
	}
	findings, err := rls.CheckRole(ctx, admin, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("the recipe's app role: %v", f)
	}

	// Without pre-auth functions the owner needs no way past RLS.
	m2, err := rls.NewModel(rls.Config{OwnerRole: prefix + "_owner", AppRole: prefix + "_app", PlatformRole: prefix + "_platform"})
	if err != nil {
		t.Fatal(err)
	}
	sql2, err := m2.RolesSQL(db.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sql2, `ALTER ROLE `+prefix+`_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;`) {
		t.Errorf("without pre-auth functions the owner is not NOBYPASSRLS:\n%s", sql2)
	}
	if _, err := m.RolesSQL("bad\x00name"); err == nil {
		t.Error("RolesSQL accepted a database name with a NUL")
	}
}
