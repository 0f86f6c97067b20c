package main

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// The tracker's principal kinds. The SDK knows none of them: they are
// declared in the model below, which hands them to the migration's
// policies, the token authority and the pool.
const (
	// member belongs to one organization and reads and writes all of it.
	member tenancy.Kind = "member"
	// guest is an outside collaborator: it reads the organization's
	// projects and only the tasks assigned to it, and writes nothing.
	guest tenancy.Kind = "guest"
)

// roles names the three database roles of the model. Roles are global to a
// PostgreSQL cluster, so tests use names of their own (package pgtest's).
type roles struct{ owner, app, platform string }

var defaultRoles = roles{owner: "tracker_owner", app: "tracker_app", platform: "tracker_platform"}

// newModel is the tracker's isolation model: the one declaration that the
// migration (model.Generate), the pool (tenantdb), the tokens (jwtctx) and
// the tests read. Organizations are the tenants, keyed by a bigint org_id;
// users, and so the subjects of tokens, have bigint ids too.
func newModel(r roles) (*rls.Model, error) {
	readOnly := []tenancy.Kind{guest}
	return rls.NewModel(rls.Config{
		TenantColumn: "org_id",
		TenantKey:    tenancy.KeyBigint,
		SubjectKey:   tenancy.KeyBigint,
		Kinds: []tenancy.KindSpec{
			{Name: member, Access: tenancy.AccessTenant},
			{Name: guest, Access: tenancy.AccessSubject},
		},
		OwnerRole:    r.owner,
		AppRole:      r.app,
		PlatformRole: r.platform,
	},
		rls.Table{Name: "public.orgs", Kind: rls.Registry},
		rls.Table{Name: "public.users", ReadOnly: readOnly},
		rls.Table{Name: "public.projects", ReadOnly: readOnly},
		rls.Table{Name: "public.tasks", SubjectColumn: "assignee_id", ReadOnly: readOnly},
	)
}

// schema is the tracker's own migration, run before the model's.
//
//go:embed schema.sql
var schema string

// migrate creates the tables and the two demo organizations, then isolates
// the tables with the model's row-level security, in one transaction on
// ownerURL (the owner role). Running it again changes nothing.
func migrate(ctx context.Context, ownerURL string, model *rls.Model) error {
	isolation, err := model.Generate()
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, schema); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		if _, err := tx.Exec(ctx, isolation); err != nil {
			return fmt.Errorf("isolation: %w", err)
		}
		return nil
	})
}

// user is a seeded user, for whom main issues a demo token.
type user struct {
	Name      string
	Principal tenancy.Principal
}

// seedSQL gives an organization without users a project, a member ($3)
// and a guest ($4), and a task for each of the two.
const seedSQL = `
with p as (insert into projects (org_id, name) select $1, $2 where not exists (select from users where org_id = $1) returning org_id, id),
	u as (insert into users (org_id, name) select $1, n from p, unnest(array[$3, $4]::text[]) n returning org_id, id, name)
insert into tasks (org_id, project_id, title, assignee_id)
select u.org_id, p.id, 'First task for ' || u.name, u.id from u join p on p.org_id = u.org_id`

// seed writes the two demo organizations' data, unless they have some,
// and returns their members and guests. No one is signed in at start-up,
// so it works through tenantdb's audited entry point for one named tenant.
func seed(ctx context.Context, db *tenantdb.Pool) ([]user, error) {
	var users []user
	for _, org := range []struct {
		id                     tenancy.ID
		project, member, guest string
	}{
		{tenancy.IntID(1), "Rocket skates", "ada@acme", "gus@acme"},
		{tenancy.IntID(2), "Doomsday device", "bea@globex", "gil@globex"},
	} {
		err := db.InTenant(ctx, org.id, "seed the demo organization", func(ctx context.Context, tx *tenantdb.Tx) error {
			if _, err := tx.Exec(ctx, seedSQL, org.id, org.project, org.member, org.guest); err != nil {
				return err
			}
			for _, u := range []user{{org.member, tenancy.Principal{Kind: member}}, {org.guest, tenancy.Principal{Kind: guest}}} {
				u.Principal.Tenant = org.id
				if err := tx.QueryRow(ctx, `select id from users where org_id = $1 and name = $2`, org.id, u.Name).Scan(&u.Principal.Subject); err != nil {
					return err
				}
				users = append(users, u)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("seed org %s: %w", org.id, err)
		}
	}
	return users, nil
}
