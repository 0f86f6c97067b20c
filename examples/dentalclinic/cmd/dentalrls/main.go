// Command dentalrls measures row-level security at clinic scale on a
// database made by dentalgen: the app's day schedule, patient searches
// and invoice list for random clinics and days, as the owner role with
// row-level security off (the explicit clinic_id predicate alone), as the
// app role through tenantdb under the generated policies, and under two
// naive policies. It prints p50 and p99 per variant with the ratios to the
// baseline, and how many executions PostgreSQL planned again (custom
// plans) or ran from its cached generic plan; and it writes EXPLAIN
// (ANALYZE, BUFFERS) of every query and variant to -plans.
//
//	go run ./examples/dentalclinic/cmd/dentalrls -data /tmp/dentalscale -plans /tmp/plans.txt
//
// It applies pending migrations first, so that a database generated with
// an older SDK is measured under the current policies. Every variant must
// first return exactly the baseline's rows for a few clinics, or nothing
// is measured.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/scale"
)

func main() {
	dir := flag.String("data", "", "the data directory given to dentalgen; required")
	rounds := flag.Int("rounds", 6, "rounds; the variants' order alternates between rounds")
	iters := flag.Int("iters", 200, "queries per variant, query and round")
	plans := flag.String("plans", "", "file for the EXPLAIN (ANALYZE, BUFFERS) plans")
	generic := flag.Bool("generic", false, "plan_cache_mode=force_generic_plan on every variant's connections")
	custom := flag.Bool("custom", false, "plan_cache_mode=force_custom_plan on every variant's connections (plan every execution)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "dentalrls: -data DIR is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	mode := ""
	switch {
	case *generic && *custom:
		fmt.Fprintln(os.Stderr, "dentalrls: -generic or -custom, not both")
		os.Exit(2)
	case *generic:
		mode = "force_generic_plan"
	case *custom:
		mode = "force_custom_plan"
	}
	if err := run(ctx, *dir, *rounds, *iters, *plans, mode); err != nil {
		fmt.Fprintln(os.Stderr, "dentalrls:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, rounds, iters int, plans string, planCacheMode string) error {
	c, err := scale.StartCluster(ctx, dir, scale.BenchSettings)
	if err != nil {
		return err
	}
	defer c.Stop()
	// Pending migrations first: a newer SDK's policies and helpers.
	if _, err := migrations.Up(ctx, c.Conns.Migrations(), scale.Roles); err != nil {
		return err
	}
	b, err := scale.NewRLSBench(ctx, c.SuperuserConnString(scale.Database), c.Conns, planCacheMode)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Printf("%d clinics, appointments on %d weekdays from %s\n", b.Clinics, b.Days, b.First.Format("2006-01-02"))
	if err := b.Verify(ctx, []int{1, b.Clinics/2 + 1, b.Clinics}); err != nil {
		return err
	}
	fmt.Println("every variant returns the baseline's rows")
	if plans != "" {
		f, err := os.Create(plans)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, q := range scale.Queries {
			for _, v := range scale.Variants {
				// Twice: the first warms the cache, the second is shown.
				if _, err := b.Explain(ctx, v, q, b.Clinics/2+1); err != nil {
					return err
				}
				p, err := b.Explain(ctx, v, q, b.Clinics/2+1)
				if err != nil {
					return err
				}
				fmt.Fprintf(f, "### %s: %s\n\n```\n%s\n```\n\n", q.Name, v, p)
			}
		}
		fmt.Println("plans written to", plans)
	}
	res, err := b.Measure(ctx, rounds, iters, os.Stderr)
	if err != nil {
		return err
	}
	scale.WriteResults(os.Stdout, res)
	counts, err := b.PlanCounts(ctx)
	if err != nil {
		return err
	}
	fmt.Println("\nplans of the timed executions (pg_prepared_statements, all connections): generic / custom")
	fmt.Println("\n| query | variant | generic | custom |\n| --- | --- | --- | --- |")
	for _, c := range counts {
		fmt.Printf("| %s | %s | %d | %d |\n", c.Query, c.Variant, c.Generic, c.Custom)
	}
	return nil
}
