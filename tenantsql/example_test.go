package tenantsql_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantsql"
)

// A store on database/sql: the principal in ctx (put there by jwtctx's
// middleware) scopes every statement. It needs a database, so it only
// compiles here.
func ExampleOpen() {
	ctx := context.Background()
	model, err := rls.NewModel(rls.Config{AppRole: "app", TenantColumn: "org_id",
		Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}}}, rls.Table{Name: "public.tasks"})
	if err != nil {
		log.Fatal(err)
	}
	db, err := tenantsql.Open(ctx, "postgres://app:secret@localhost/tracker", tenantsql.Config{Model: model, Sources: []tenancy.Source{jwtctx.Source()}})
	if err != nil {
		log.Fatal(err) // also a role that row-level security would not bind
	}
	defer db.Close()

	var req *http.Request // a request that jwtctx's middleware authenticated
	ctx = req.Context()
	p, err := tenancy.Require(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var open int
	if err := db.QueryRowContext(ctx, `select count(*) from tasks where org_id = $1 and not done`, p.Tenant).Scan(&open); err != nil {
		log.Fatal(err)
	}
	fmt.Println(open, "open tasks")
}
