// Command dentalgen generates the reference app's database at clinic
// scale, for the benchmarks in docs/benchmarks.md. By default: 1,000
// clinics, 2,000,000 patients, 10,000,000 appointments, 2,500,000
// invoices (two lines each, about 40% paid) and 1,000,000 prescriptions.
//
//	go run ./examples/dentalclinic/cmd/dentalgen -data /tmp/dentalscale
//
// It starts a PostgreSQL server from the host's binaries with its data in
// DIR/pgdata (the layout of the app's embedded database, so the app itself
// can run on it with -data DIR), migrates, loads the data with several
// connections, builds keys, indexes and constraints, and prints the time
// each step took and the database's size on disk. Smaller scales:
//
//	go run ./examples/dentalclinic/cmd/dentalgen -data /tmp/small -clinics 10 -patients 2000 -appointments 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/scale"
)

func main() {
	s := scale.Default
	dir := flag.String("data", "", "directory for the PostgreSQL data (DIR/pgdata); required")
	flag.IntVar(&s.Clinics, "clinics", s.Clinics, "clinics")
	flag.IntVar(&s.Patients, "patients", s.Patients, "patients in total")
	flag.IntVar(&s.Appointments, "appointments", s.Appointments, "appointments in total")
	invoices := flag.Int("invoices", -1, "invoices in total (default: a quarter of the appointments)")
	prescriptions := flag.Int("prescriptions", -1, "prescriptions in total (default: a tenth of the appointments)")
	flag.IntVar(&s.Workers, "workers", s.Workers, "concurrent loading connections")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "dentalgen: -data DIR is required")
		os.Exit(2)
	}
	s.Invoices, s.Prescriptions = *invoices, *prescriptions
	if s.Invoices < 0 {
		s.Invoices = s.Appointments / 4
	}
	if s.Prescriptions < 0 {
		s.Prescriptions = s.Appointments / 10
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir, s); err != nil {
		fmt.Fprintln(os.Stderr, "dentalgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, s scale.Scale) error {
	c, err := scale.StartCluster(ctx, dir, scale.LoadSettings)
	if err != nil {
		return err
	}
	defer c.Stop()
	rep, err := scale.Generate(ctx, c.Conns, s, time.Now(), os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("\nGenerated %d clinics in %s; database size %.1f GB (%d bytes)\n", s.Clinics, rep.Total,
		float64(rep.DiskSize)/(1<<30), rep.DiskSize)
	fmt.Println("\n| step | time |\n| --- | --- |")
	for _, p := range rep.Phases {
		fmt.Printf("| %s | %s |\n", p.Name, p.Took)
	}
	fmt.Println("\n| table | rows |\n| --- | --- |")
	for _, t := range slices.Sorted(func(yield func(string) bool) {
		for k := range rep.Rows {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Printf("| %s | %d |\n", t, rep.Rows[t])
	}
	return nil
}
