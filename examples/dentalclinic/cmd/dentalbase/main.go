// Command dentalbase is the baseline of the app's load benchmark
// (docs/benchmarks.md): the routes of dentalload's mix with the same SQL
// as the app's store, run through bare pgx, without the SDK. It connects
// as a role that bypasses row-level security (DATABASE_URL, the owner
// role of a dentalgen database), so the explicit clinic_id predicates
// alone scope the data; it sets no tenant context, runs no SQL guard and
// writes no audit events. It verifies the app's bearer tokens with
// golang-jwt alone (signature, expiry, issuer and audience) using the
// app's signing key (-key), and reads the clinic from the token's tenant
// claim.
//
// It is a benchmark fixture, not an app: never expose it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/scale"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	keyFile := flag.String("key", "", "the app's signing key (PEM, PKCS #8 Ed25519); required")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *keyFile, os.Getenv("DATABASE_URL")); err != nil {
		log.Fatal("dentalbase: ", err)
	}
}

func run(ctx context.Context, addr, keyFile, dbURL string) error {
	key, err := scale.PublicKey(keyFile)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	srv := &http.Server{Addr: addr, Handler: scale.NewBaseline(pool, key), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Println("dentalbase listening on", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
