package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// TestCreatePatientNamesake is the store's side of the duplicate rule
// (the API's is TestDuplicatePatient): a namesake (given and family name,
// case folded, and date of birth) of the same clinic is the conflict
// DuplicatePatient naming the existing patient, unless AllowDuplicate;
// another clinic's namesake, or a missing date of birth, is none. And the
// picker's filters: Status keeps one status, ID one patient of the
// caller's clinic (another clinic's id finds nothing).
func TestCreatePatientNamesake(t *testing.T) {
	st := newStore(t)
	river, hill := staffAt(riverside), staffAt(hillcrest)
	dob := store.DateOf(time.Date(1975, 6, 7, 0, 0, 0, 0, time.UTC))
	in := func(given, family string, d *store.Date) store.PatientInput {
		return store.PatientInput{GivenName: &given, FamilyName: &family, DateOfBirth: d}
	}
	first, err := st.CreatePatient(river, in("Ada", "Namesake", &dob))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.CreatePatient(river, in("ADA", "namesake", &dob))
	var se *store.Error
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &se) || se.Code != store.DuplicatePatient {
		t.Fatalf("a namesake: %v, want the conflict %s", err, store.DuplicatePatient)
	}
	if ids, _ := se.Detail.([]tenancy.ID); !slices.Equal(ids, []tenancy.ID{first.ID}) {
		t.Errorf("the conflict names %v, want %s", se.Detail, first.ID)
	}
	list, _, err := st.ListPatients(river, store.PatientFilter{Query: "Ada Namesake"})
	if err != nil || len(list) != 1 {
		t.Fatalf("after the refusal: %d namesakes (%v), want 1", len(list), err)
	}
	if _, err := st.CreatePatient(hill, in("Ada", "Namesake", &dob)); err != nil {
		t.Errorf("another clinic's namesake: %v, want none", err)
	}
	for range 2 {
		if _, err := st.CreatePatient(river, in("Ada", "Nodob", nil)); err != nil {
			t.Errorf("without a date of birth: %v, want no namesake", err)
		}
	}
	allowed := in("Ada", "Namesake", &dob)
	allowed.AllowDuplicate = true
	second, err := st.CreatePatient(river, allowed)
	if err != nil {
		t.Fatalf("registered anyway: %v", err)
	}

	// The picker's filters.
	hillAda, _, err := st.ListPatients(hill, store.PatientFilter{Query: "Ada Namesake"})
	if err != nil || len(hillAda) != 1 {
		t.Fatalf("Hillcrest's Ada: %d (%v)", len(hillAda), err)
	}
	for _, c := range []struct {
		f    store.PatientFilter
		want int
	}{
		{store.PatientFilter{ID: &second.ID}, 1},
		{store.PatientFilter{ID: &hillAda[0].ID}, 0},
		{store.PatientFilter{Query: "Ada Namesake", Status: "active"}, 2},
		{store.PatientFilter{Query: "Ada Namesake", Status: "archived"}, 0},
	} {
		got, _, err := st.ListPatients(river, c.f)
		if err != nil || len(got) != c.want {
			t.Errorf("ListPatients(%+v): %d (%v), want %d", c.f, len(got), err, c.want)
		}
	}
	if _, _, err := st.ListPatients(river, store.PatientFilter{Status: "deleted"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("an unknown status: %v, want invalid", err)
	}
}

// TestNamesakeFolding: names compare folded and normalised, non-ASCII
// included: "MÜLLER" is "Müller", and "Zoë" typed as e + combining
// diaeresis is "Zoë".
func TestNamesakeFolding(t *testing.T) {
	st := newStore(t)
	river := staffAt(riverside)
	dob := store.DateOf(time.Date(1981, 2, 3, 0, 0, 0, 0, time.UTC))
	for _, c := range []struct{ first, again [2]string }{
		{[2]string{"Anna", "Müller"}, [2]string{"Anna", "MÜLLER"}},
		{[2]string{"Zo\u00eb", "Foldtest"}, [2]string{"Zoe\u0308", "Foldtest"}},
		{[2]string{"Björn", "Øst"}, [2]string{"BJÖRN", "øst"}},
	} {
		if _, err := st.CreatePatient(river, store.PatientInput{GivenName: &c.first[0], FamilyName: &c.first[1], DateOfBirth: &dob}); err != nil {
			t.Fatalf("register %v: %v", c.first, err)
		}
		_, err := st.CreatePatient(river, store.PatientInput{GivenName: &c.again[0], FamilyName: &c.again[1], DateOfBirth: &dob})
		var se *store.Error
		if !errors.As(err, &se) || se.Code != store.DuplicatePatient {
			t.Errorf("%v after %v: %v, want %s", c.again, c.first, err, store.DuplicatePatient)
		}
	}
}

// TestNamesakesAtOnce: two registrations of one person at the same
// moment (a double click) do not both get through.
func TestNamesakesAtOnce(t *testing.T) {
	st := newStore(t)
	river := staffAt(riverside)
	dob := store.DateOf(time.Date(1990, 9, 9, 0, 0, 0, 0, time.UTC))
	for i := range 8 {
		given, family := "Twice", fmt.Sprintf("Atonce%c", 'a'+i)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j := range 2 {
			wg.Go(func() {
				_, errs[j] = st.CreatePatient(river, store.PatientInput{GivenName: &given, FamilyName: &family, DateOfBirth: &dob})
			})
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Errorf("two registrations of %s %s at once: %v and %v, want one registered and one refused", given, family, errs[0], errs[1])
		}
	}
}
