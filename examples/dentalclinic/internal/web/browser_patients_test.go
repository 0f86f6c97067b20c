package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// patients: the front desk registers a patient, is warned when they
// register the same person again, edits the alerts and allergies, and
// finds the patient through the booking picker (a search; the date of
// birth beside the name) to book them; at 1280 and at 820 px.
func (b *browser) patients(t *testing.T) {
	for _, width := range []int64{1280, 820} {
		t.Run(fmt.Sprint(width), func(t *testing.T) { b.patientJourney(t, width) })
	}
}

func (b *browser) patientJourney(t *testing.T, width int64) {
	wide := width == 1280
	p := b.tab(t)
	p.viewport(width, 900)
	fits := func(page string) { t.Helper(); p.fitsWidth(page, int(width)) }
	p.signIn(seed.StaffEmail("frontdesk", riverside), false, "")
	given, family := "Robin", map[bool]string{true: "Quillon", false: "Quillby"}[wide]

	// Register.
	p.open("/patients")
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS("#new-patient"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(p.ctx, chromedp.WaitVisible(chromedp.CSS("#patient-form"))); err != nil {
		t.Fatal(err)
	}
	fill := func() {
		t.Helper()
		p.typeIn("#given_name", given)
		p.typeIn("#family_name", family)
		p.set("#date_of_birth", "1984-07-09")
		p.typeIn("#phone", "+44 20 7946 0555")
		p.typeIn("#medical_alerts", "Asthma")
	}
	fill()
	fits("the register form")
	if wide {
		p.shot("patient-new")
	}
	if status := p.submit("#patient-form"); status != 200 || !strings.HasPrefix(p.path(), "/patients/") {
		t.Fatalf("registering: %d at %s: %q", status, p.path(), p.text("#form-error"))
	}
	chart := p.path()
	id := ids(t, []string{chart})[0]
	if got := p.text("#alerts"); !strings.Contains(got, "Asthma") {
		t.Errorf("the new chart's alerts read %q", got)
	}

	// The same person again: warned, not registered.
	p.open("/patients/new")
	fill()
	if status := p.submit("#patient-form"); status != 409 {
		t.Errorf("registering the same person again: %d, want 409", status)
	}
	if !strings.Contains(p.text("#duplicate-warning"), "already") || p.count("#allow_duplicate") != 1 {
		t.Errorf("the duplicate warning reads %q", p.text("#duplicate-warning"))
	}
	fits("the duplicate warning")
	if wide {
		p.shot("patient-duplicate")
	}
	var n int
	if b.app.one(t, &n, `select count(*) from patients where clinic_id = $1 and family_name = $2`, riverside.ID, family); n != 1 {
		t.Errorf("%d patients named %s after the warning, want 1", n, family)
	}
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS("#duplicate-warning a.namesake"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(p.ctx, chromedp.WaitVisible(chromedp.CSS("#edit-patient"))); err != nil {
		t.Fatal(err)
	}
	if p.path() != chart {
		t.Errorf("the warning's link opened %s, want the existing chart %s", p.path(), chart)
	}

	// Edit the alerts and allergies.
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS("#edit-patient"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(p.ctx, chromedp.WaitVisible(chromedp.CSS("#status-choices"))); err != nil {
		t.Fatal(err)
	}
	p.set("#medical_alerts", "Asthma\nAnticoagulants")
	p.set("#allergies", "Penicillin")
	fits("the edit form")
	if wide {
		p.shot("patient-edit")
	}
	if status := p.submit("#patient-form"); status != 200 || p.path() != chart {
		t.Fatalf("saving the edit: %d at %s: %q", status, p.path(), p.text("#form-error"))
	}
	if got := p.text("#allergies"); !strings.Contains(got, "Penicillin") || !strings.Contains(p.text("#alerts"), "Anticoagulants") {
		t.Errorf("after the edit the chart reads alerts %q, allergies %q", p.text("#alerts"), got)
	}

	// Book them, finding them through the picker (the search updates the
	// choices as the name is typed).
	var dentist, chair tenancy.ID
	b.app.one(t, &dentist, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("dentist", riverside))
	b.app.one(t, &chair, `select id from operatories where clinic_id = $1 and not hidden order by name limit 1`, riverside.ID)
	day := time.Now().AddDate(0, 3, 5) // a day no other test books
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	p.open("/appointments/new?chair=" + chair.String() + "&date=" + day.Format(time.DateOnly) + "&time=" + map[bool]string{true: "14:00", false: "15:00"}[wide])
	if p.count(`#patient-choices input[type="radio"]`) != 0 {
		t.Error("the booking form lists patients before any search")
	}
	p.typeIn("#patient-q", family)
	choice := `#patient-` + id.String()
	if err := chromedp.Do(p.ctx, chromedp.WaitVisible(chromedp.CSS(choice))); err != nil {
		t.Fatalf("the picker never offered the patient: %v", err)
	}
	if got := p.text(`label:has(> ` + choice + `)`); !strings.Contains(got, "born 9 Jul 1984") {
		t.Errorf("the picker's choice reads %q, want the date of birth", got)
	}
	fits("the booking form")
	if wide {
		p.shot("patient-picker")
	}
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(choice))); err != nil {
		t.Fatal(err)
	}
	p.set("#dentist", dentist.String())
	if status := p.submit("#booking-form"); status != 200 || p.path() != "/schedule" {
		t.Fatalf("booking: %d at %s: %q", status, p.path(), p.text("#form-error"))
	}
	if b.app.one(t, &n, `select count(*) from appointments where clinic_id = $1 and patient_id = $2`, riverside.ID, id); n != 1 {
		t.Errorf("the patient has %d appointments after booking, want 1", n)
	}
}
