package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// TestDuplicatePatient is the API's side of the namesake rule (the web
// form's is TestPatientDuplicateWarning): registering a patient with the
// name and date of birth of another patient of the clinic is 409
// duplicate_patient, naming that patient, and writes nothing, unless the
// body says allow_duplicate; renaming into a namesake is refused the same
// way, an edit that leaves the name and date of birth alone is not; a
// namesake at another clinic, or a patient without a date of birth, is
// no duplicate.
func TestDuplicatePatient(t *testing.T) {
	a := startApp(t)
	desk := a.NewStaff(t, riverside, "front_desk").Token
	hill := a.NewStaff(t, hillcrest, "front_desk").Token
	given := "Dup" + tenancy.NewID().String()[24:]
	count := func() int {
		return a.SuperCount(t, `select count(*) from patients where given_name ilike $1`, given)
	}
	create := func(token string, body map[string]any, want int) patientJSON {
		t.Helper()
		r := a.Do(t, "POST", "/api/v1/patients", token, body)
		if r.Status != want {
			t.Fatalf("create %v: %d %s, want %d", body, r.Status, r.Body, want)
		}
		var p patientJSON
		if want == http.StatusCreated {
			r.JSON(t, &p)
		}
		return p
	}
	body := map[string]any{"given_name": given, "family_name": "Namesake", "date_of_birth": "1980-04-05"}
	first := create(desk, body, http.StatusCreated)

	// The same person again, the names in other case.
	before := count()
	r := a.Do(t, "POST", "/api/v1/patients", desk, map[string]any{"given_name": "DUP" + given[3:], "family_name": "NAMESAKE", "date_of_birth": "1980-04-05"})
	var prob struct {
		Code    string       `json:"code"`
		Choices []tenancy.ID `json:"choices"`
	}
	r.JSON(t, &prob)
	if r.Status != http.StatusConflict || !r.IsProblem() || prob.Code != store.DuplicatePatient || !slices.Equal(prob.Choices, []tenancy.ID{first.ID}) {
		t.Fatalf("registering a namesake: %d %s, want 409 %s naming %s", r.Status, r.Body, store.DuplicatePatient, first.ID)
	}
	if got := count(); got != before {
		t.Fatalf("the refused namesake was written: %d patients, was %d", got, before)
	}

	// Another clinic's namesake is no duplicate (and its existence does not show).
	create(hill, body, http.StatusCreated)
	// Without a date of birth there is no namesake.
	create(desk, map[string]any{"given_name": given, "family_name": "Nodob"}, http.StatusCreated)
	create(desk, map[string]any{"given_name": given, "family_name": "Nodob"}, http.StatusCreated)

	// Registered anyway.
	withAllow := map[string]any{"allow_duplicate": true}
	for k, v := range body {
		withAllow[k] = v
	}
	second := create(desk, withAllow, http.StatusCreated)
	// An edit of a namesake that leaves the name and date of birth alone.
	if r := a.Do(t, "PATCH", "/api/v1/patients/"+second.ID.String(), desk, map[string]any{"phone": "+44 20 7946 0002"}); r.Status != http.StatusOK {
		t.Fatalf("editing the phone of a namesake: %d %s, want 200", r.Status, r.Body)
	}

	// Renaming another patient into a namesake.
	other := create(desk, map[string]any{"given_name": given, "family_name": "Other", "date_of_birth": "1980-04-05"}, http.StatusCreated)
	r = a.Do(t, "PATCH", "/api/v1/patients/"+other.ID.String(), desk, map[string]any{"family_name": "Namesake"})
	if r.Status != http.StatusConflict || r.Problem(t).Code != store.DuplicatePatient {
		t.Fatalf("renaming into a namesake: %d %s, want 409 %s", r.Status, r.Body, store.DuplicatePatient)
	}
	if n := a.SuperCount(t, `select count(*) from patients where id = $1 and family_name = 'Other'`, other.ID); n != 1 {
		t.Fatalf("the refused rename was written")
	}
	if r := a.Do(t, "PATCH", "/api/v1/patients/"+other.ID.String(), desk, map[string]any{"family_name": "Namesake", "allow_duplicate": true}); r.Status != http.StatusOK {
		t.Fatalf("renaming into a namesake, allowed: %d %s, want 200", r.Status, r.Body)
	}
}
