package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestPortalArchivedPatientCannotSignIn: archiving a patient's record
// closes their portal: the open session ends at once, sign-in answers as
// for a wrong password, and reactivating the record opens it again.
func TestPortalArchivedPatientCannotSignIn(t *testing.T) {
	a := startApp(t)
	f := newPortalPatient(t, a, "Archive")
	email := a.NewPortalAccount(t, riverside.ID, f.patient)
	session := a.SignInPortal(t, email, seed.Password, tenancy.ID{}) // the account works
	if r := a.Do(t, "GET", "/api/v1/portal/me", session, nil); r.Status != http.StatusOK {
		t.Fatalf("portal session before archiving: %d %s", r.Status, r.Body)
	}

	setStatus := func(status string) {
		t.Helper()
		if r := a.Do(t, "PATCH", "/api/v1/patients/"+f.patient.String(), f.desk, map[string]any{"status": status}); r.Status != http.StatusOK {
			t.Fatalf("set status %s: %d %s", status, r.Status, r.Body)
		}
	}
	setStatus("archived")
	if r := a.Do(t, "GET", "/api/v1/portal/me", session, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("portal session after archiving: %d %s, want 401", r.Status, r.Body)
	}
	archived := a.Do(t, "POST", "/api/v1/portal/login", "", map[string]any{"email": email, "password": seed.Password})
	wrong := a.Do(t, "POST", "/api/v1/portal/login", "", map[string]any{"email": email, "password": "not-the-password"})
	if archived.Status != http.StatusUnauthorized || !bytes.Equal(archived.Body, wrong.Body) {
		t.Errorf("archived patient's sign-in: %d %s; wrong password: %d %s; want identical 401s", archived.Status, archived.Body, wrong.Status, wrong.Body)
	}
	setStatus("active")
	a.SignInPortal(t, email, seed.Password, tenancy.ID{})
}

// TestPortalInviteUseIsScoped: the enrolment path marks an invite used
// through auth.use_portal_invite, which acts only on an invite of the
// transaction's own clinic: run as the app role under another clinic's
// context it finds nothing and changes nothing.
func TestPortalInviteUseIsScoped(t *testing.T) {
	a := startApp(t)
	f := newPortalPatient(t, a, "Scoped")
	sum := sha256.Sum256([]byte(strings.ReplaceAll(f.code, "-", "")))
	hash := hex.EncodeToString(sum[:])
	ctx := context.Background()
	use := func(clinic tenancy.ID) (n int) {
		t.Helper()
		err := pgx.BeginFunc(ctx, a.DB.Conn(t, pgtest.App), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `select set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', 'system|||||', true)`, clinic.String()); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `select clinic_id, patient_id from auth.use_portal_invite($1)`, hash)
			if err != nil {
				return err
			}
			for rows.Next() {
				n++
			}
			rows.Close()
			if rows.Err() != nil {
				return rows.Err()
			}
			return pgx.ErrTxClosed // roll back: this test only looks
		})
		if err != nil && err != pgx.ErrTxClosed {
			t.Fatalf("use_portal_invite at %v: %v", clinic, err)
		}
		return n
	}
	if n := use(hillcrest.ID); n != 0 {
		t.Errorf("another clinic's context used Riverside's invite (%d rows)", n)
	}
	if n := use(riverside.ID); n != 1 {
		t.Errorf("Riverside's context found %d invites, want 1", n)
	}
	if n := a.SuperCount(t, `select count(*) from portal_invites where clinic_id = $1 and code_hash = $2 and used_at is null`, riverside.ID, hash); n != 1 {
		t.Errorf("the invite was used by rolled-back calls: %d unused", n)
	}
}
