package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// The two journeys the "done when" names, walked in the browser
// without the API, at 1280 and at 820 px: the front desk's morning
// (register a patient, book them today, mark them arrived and completed,
// bill the visit, take the payment, print the receipt) and the dentist's
// (their own day with the patient's alerts, the appointment, prescribing
// against the recorded allergy with a reason).

// morningFixture is a dentist and a chair of the journeys' own at
// Riverside, so that nothing else books them today.
type morningFixture struct {
	dentistEmail string
	dentist      tenancy.ID
	chair        tenancy.ID
	today        string
	loc          *time.Location
}

func (b *browser) newMorningFixture(t *testing.T) morningFixture {
	t.Helper()
	loc, err := time.LoadLocation(riverside.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	f := morningFixture{dentist: tenancy.NewID(), chair: tenancy.NewID(), loc: loc, today: time.Now().In(loc).Format(time.DateOnly)}
	f.dentistEmail = "morning.dentist." + f.dentist.String()[24:] + "@riverside.example"
	hash, err := passwords.Hash(seed.Password)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := b.app.super.Exec(ctx, `insert into staff (clinic_id, id, email, name, roles, password_hash) values ($1, $2, $3, 'Dr Morning Journey', '{dentist}', $4)`,
		riverside.ID, f.dentist, f.dentistEmail, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := b.app.super.Exec(ctx, `insert into operatories (clinic_id, id, name) values ($1, $2, $3)`,
		riverside.ID, f.chair, "Morning chair "+f.chair.String()[24:]); err != nil {
		t.Fatal(err)
	}
	return f
}

// mornings runs both journeys at each width, one patient per width.
func (b *browser) mornings(t *testing.T) {
	f := b.newMorningFixture(t)
	for i, width := range []int64{1280, 820} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			family := fmt.Sprintf("Morningjourney%c", 'a'+i)
			at := []string{"07:00", "07:30"}[i]
			appt := b.frontDeskMorning(t, f, width, family, at)
			b.dentistDay(t, f, width, family, appt)
		})
	}
}

// frontDeskMorning: the front desk registers a patient with an alert and
// an allergy, books them with the fixture's dentist today at at (giving a
// reason if that is outside the opening hours), marks them arrived and
// completed, bills the check-up, takes the payment and opens the receipt.
// It returns the appointment's id.
func (b *browser) frontDeskMorning(t *testing.T, f morningFixture, width int64, family, at string) tenancy.ID {
	p := b.tab(t)
	p.viewport(width, 900)
	shots := width == 1280
	p.signIn(seed.StaffEmail("frontdesk", riverside), false, "")

	// Register.
	p.open("/patients/new")
	p.typeIn("#given_name", "Sam")
	p.typeIn("#family_name", family)
	p.set("#date_of_birth", "1979-03-14")
	p.typeIn("#phone", "+44 20 7946 0321")
	p.typeIn("#medical_alerts", "Diabetes")
	p.typeIn("#allergies", "Penicillin")
	p.fitsWidth("the register form", int(width))
	if status := p.submit("#patient-form"); status != 200 || !strings.HasPrefix(p.path(), "/patients/") {
		t.Fatalf("registering: %d at %s: %q", status, p.path(), p.text("#form-error"))
	}
	patient := ids(t, []string{p.path()})[0]

	// Book today, from the chart's link (the patient already chosen).
	book := p.attrs(`a[href^="/appointments/new?patient="]`, "href")
	if len(book) != 1 {
		t.Fatalf("the chart has %d booking links", len(book))
	}
	p.open(book[0] + "&chair=" + f.chair.String() + "&date=" + f.today + "&time=" + at)
	p.set("#dentist", f.dentist.String())
	p.fitsWidth("the booking form", int(width))
	status := p.submit("#booking-form")
	if status == 409 && p.count("#hours_override") == 1 {
		// Today at this hour the clinic is closed: the form asks why.
		p.typeIn("#hours_override", "Early start for a patient who works days.")
		status = p.submit("#booking-form")
	}
	if status != 200 || p.path() != "/schedule" {
		t.Fatalf("booking today at %s: %d at %s: %q", at, status, p.path(), p.text("#form-error"))
	}
	var appt tenancy.ID
	b.app.one(t, &appt, `select id from appointments where clinic_id = $1 and patient_id = $2`, riverside.ID, patient)

	// The visit: arrived, then completed, on the appointment's page, which
	// shows the patient's alert and allergy.
	p.open("/appointments/" + appt.String())
	if !strings.Contains(p.text("#appointment-alerts"), "Diabetes") || !strings.Contains(p.text("#appointment-allergies"), "Penicillin") {
		t.Errorf("the appointment page shows alerts %q, allergies %q", p.text("#appointment-alerts"), p.text("#appointment-allergies"))
	}
	for _, next := range []string{"arrived", "completed"} {
		p.set("#status", next)
		if status := p.submit(`form:has(#status)`); status != 200 {
			t.Fatalf("status %s: %d %q", next, status, p.text("#form-error"))
		}
		var got string
		b.app.one(t, &got, `select status from appointments where clinic_id = $1 and id = $2`, riverside.ID, appt)
		if got != next {
			t.Fatalf("after choosing %s the appointment is %s (%q)", next, got, p.text("#form-error"))
		}
	}
	p.fitsWidth("the appointment page", int(width))

	// Bill it, issue it, take the payment.
	p.open("/invoices/new?patient=" + patient.String())
	p.set(`input[name="qty_EXAM"]`, "1")
	if status := p.submit("#invoice-form"); status != 200 || !strings.HasPrefix(p.path(), "/invoices/") {
		t.Fatalf("the invoice: %d at %s: %q", status, p.path(), p.text("#form-error"))
	}
	invoice := p.path()
	if status := p.submit(`form[action$="/issue"]`); status != 200 {
		t.Fatalf("issuing: %d %q", status, p.text("#form-error"))
	}
	var balance int64
	b.app.one(t, &balance, `select total_minor from invoices where clinic_id = $1 and id = $2`, riverside.ID, ids(t, []string{invoice})[0])
	amount := fmt.Sprintf("%d.%02d", balance/100, balance%100)
	p.set("#amount", amount)
	p.set("#method", "card")
	if status := p.submit("#payment-form"); status != 200 {
		t.Fatalf("the payment: %d %q", status, p.text("#form-error"))
	}
	if got := p.text("#invoice-status"); !strings.Contains(got, "Paid") {
		t.Errorf("after paying %s the invoice reads %q", amount, got)
	}
	p.fitsWidth("the paid invoice", int(width))

	// Print the receipt.
	receipts := p.attrs(`a[href^="/payments/"]`, "href")
	if len(receipts) != 1 {
		t.Fatalf("the paid invoice links %d receipts", len(receipts))
	}
	p.open(receipts[0])
	if got := p.text("#receipt-amount"); !strings.Contains(got, amount) {
		t.Errorf("the receipt's amount reads %q, want %s", got, amount)
	}
	if got := p.text("#receipt-patient"); !strings.Contains(got, family) {
		t.Errorf("the receipt is for %q, want %s", got, family)
	}
	p.fitsWidth("the receipt", int(width))
	p.media("print")
	if d := p.display("header nav"); d != "none" {
		t.Errorf("printed, the receipt shows the navigation (display %s)", d)
	}
	p.media("")
	if shots {
		p.shot("morning-receipt")
	}
	return appt
}

// dentistDay: the fixture's dentist opens the schedule on their own day,
// finds the front desk's patient with the alert on the tile, opens the
// appointment and the chart, and prescribes amoxicillin against the
// recorded penicillin allergy: warned, then saved with a reason.
func (b *browser) dentistDay(t *testing.T, f morningFixture, width int64, family string, appt tenancy.ID) {
	p := b.tab(t)
	p.viewport(width, 900)
	p.signIn(f.dentistEmail, false, "")
	p.open("/schedule?date=" + f.today)
	tile := `#schedule a.appt[href="/appointments/` + appt.String() + `"]`
	if p.count(tile) != 1 {
		t.Fatalf("the dentist's day (%q) does not show the appointment", p.text("#schedule-who"))
	}
	if got := p.text(tile); !strings.Contains(got, family) || !strings.Contains(got, "Diabetes") || !strings.Contains(got, "Penicillin") {
		t.Errorf("the tile reads %q, want the patient and their alert and allergy", got)
	}
	p.fitsWidth("the dentist's day", int(width))
	if width == 1280 {
		p.shot("dentist-day")
	}
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(tile))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(p.ctx, chromedp.WaitVisible(chromedp.CSS("#appointment-allergies"))); err != nil {
		t.Fatal(err)
	}
	chart := p.attrs(`a[href^="/patients/"]`, "href")
	if len(chart) == 0 {
		t.Fatal("the appointment page links no chart")
	}
	p.open(chart[0])
	p.typeIn("#drug", "Amoxicillin")
	p.typeIn("#strength", "500 mg")
	p.typeIn("#form", "capsule")
	p.typeIn("#directions", "One capsule three times a day for five days.")
	if status := p.submit("#prescribe-form"); status != 409 || p.count("#allergy_override") != 1 {
		t.Fatalf("amoxicillin for a penicillin allergy: %d, reason asked: %v", status, p.count("#allergy_override") == 1)
	}
	if got := p.text("#form-error"); !strings.Contains(strings.ToLower(got), "penicillin") {
		t.Errorf("the warning reads %q, want the allergy named", got)
	}
	p.typeIn("#allergy_override", "Tolerated amoxicillin in 2020 under supervision; the allergy is a rash.")
	if status := p.submit("#prescribe-form"); status != 200 {
		t.Fatalf("prescribing with a reason: %d %q", status, p.text("#form-error"))
	}
	if got := p.text("#prescriptions"); !strings.Contains(got, "Amoxicillin") || !strings.Contains(got, "Allergy overridden") {
		t.Errorf("the chart's prescriptions read %q", got)
	}
	p.fitsWidth("the chart", int(width))
}
