package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// settingsClinic adds a clinic of the test's own to the registry, with one
// owner, as the database superuser (creating clinics is the platform's
// work). Settings tests that change the time zone, the currency or the
// owners use it, so the demo clinics that other tests rely on stay as
// they are. It returns the clinic and its owner's id and token.
func settingsClinic(t *testing.T, a *apptest.App, tz, currency string) (seed.Clinic, tenancy.ID, string) {
	t.Helper()
	h, err := passwords.Hash(seed.Password)
	if err != nil {
		t.Fatal(err)
	}
	suffix := tenancy.NewID().String()[24:]
	c := seed.Clinic{ID: tenancy.NewID(), Slug: "settings-" + suffix, Name: "Settings Test Clinic " + suffix, TimeZone: tz, Currency: currency}
	owner := tenancy.NewID()
	conn := a.DB.Conn(t, pgtest.Admin)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `insert into clinics (id, name, time_zone, currency) values ($1, $2, $3, $4)`, c.ID, c.Name, tz, currency); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `insert into staff (clinic_id, id, email, name, roles, password_hash) values ($1, $2, $3, 'Owner', '{owner,dentist}', $4)`,
		c.ID, owner, seed.StaffEmail("owner", c), h); err != nil {
		t.Fatal(err)
	}
	return c, owner, a.SignIn(t, seed.StaffEmail("owner", c), tenancy.ID{})
}

// registryRow reads a clinic's registry row as the superuser.
func registryRow(t *testing.T, a *apptest.App, id tenancy.ID) (name, tz, currency string) {
	t.Helper()
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select name, time_zone, currency from clinics where id = $1`, id).
		Scan(&name, &tz, &currency); err != nil {
		t.Fatal(err)
	}
	return name, tz, currency
}

// settingsRow reads a clinic's settings row as the superuser ("" if none).
func settingsRow(t *testing.T, a *apptest.App, id tenancy.ID) string {
	t.Helper()
	var s string
	err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(),
		`select coalesce((select opening_hours::text || closures::text || updated_at::text from clinic_settings where clinic_id = $1), '')`, id).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSettingsReadAndUpdate(t *testing.T) {
	a := startApp(t)
	owner := a.NewStaff(t, riverside, "owner").Token
	_, billing := staffRole(t, a, riverside, "billing")
	_, hyg := staffRole(t, a, riverside, "hygienist")
	_, front := staffRole(t, a, riverside, "front_desk")
	_, dentist := staffRole(t, a, riverside, "dentist")

	// Every staff role reads the settings of its own clinic.
	for who, tok := range map[string]string{"owner": owner, "billing": billing, "hygienist": hyg, "front desk": front} {
		r := a.Do(t, "GET", "/api/v1/settings", tok, nil)
		schedWant(t, "GET as "+who, r, 200, "")
		var st store.Settings
		r.JSON(t, &st)
		if st.ClinicID != riverside.ID || st.ClinicName != riverside.Name || st.TimeZone != "Europe/London" || st.Currency != "GBP" ||
			len(st.OpeningHours["mon"]) != 1 || st.OpeningHours["mon"][0][0] != "08:30" || len(st.OpeningHours) != 7 {
			t.Errorf("settings as %s = %+v", who, st)
		}
	}
	// Lakeside's are its own: another zone and currency.
	var lake store.Settings
	a.Do(t, "GET", "/api/v1/settings", a.NewStaff(t, schedLakeside, "owner").Token, nil).JSON(t, &lake)
	if lake.ClinicID != schedLakeside.ID || lake.TimeZone != "America/Chicago" || lake.Currency != "USD" {
		t.Errorf("Lakeside's settings = %+v", lake)
	}

	// Only an owner writes them.
	body := map[string]any{"closures": []map[string]any{{"date": "2099-12-25", "reason": "Christmas"}}}
	for who, tok := range map[string]string{"dentist": dentist, "front desk": front, "billing": billing, "hygienist": hyg} {
		schedWant(t, "PUT as "+who, a.Do(t, "PUT", "/api/v1/settings", tok, body), 403, "forbidden")
	}

	// The owner changes the closures and hours and puts them back.
	var orig store.Settings
	a.Do(t, "GET", "/api/v1/settings", owner, nil).JSON(t, &orig)
	t.Cleanup(func() {
		r := a.Do(t, "PUT", "/api/v1/settings", owner, map[string]any{"opening_hours": orig.OpeningHours, "closures": orig.Closures})
		if r.Status != 200 {
			t.Errorf("restoring Riverside's settings: %d %s", r.Status, r.Body)
		}
	})
	hillBefore := settingsRow(t, a, hillcrest.ID)
	hours := map[string]any{}
	for k, v := range orig.OpeningHours {
		hours[k] = v
	}
	hours["sat"] = [][]string{{"13:00", "16:00"}, {"09:00", "12:00"}}
	r := a.Do(t, "PUT", "/api/v1/settings", owner, map[string]any{
		"opening_hours": hours,
		"closures":      []map[string]any{{"date": "2099-12-26", "reason": "Boxing Day"}, {"date": "2099-12-25", "reason": "Christmas"}},
	})
	schedWant(t, "PUT as owner", r, 200, "")
	schedCheckClinic(t, r.Body, riverside.ID)
	var got store.Settings
	a.Do(t, "GET", "/api/v1/settings", front, nil).JSON(t, &got)
	if diff := cmp.Diff([][]string{{"09:00", "12:00"}, {"13:00", "16:00"}}, got.OpeningHours["sat"]); diff != "" {
		t.Errorf("saturday hours (-want +got):\n%s", diff)
	}
	if len(got.Closures) != 2 || got.Closures[0].Date.Format("2006-01-02") != "2099-12-25" || got.Closures[1].Reason != "Boxing Day" {
		t.Errorf("closures = %+v", got.Closures)
	}
	if got.TimeZone != "Europe/London" || got.ClinicName != riverside.Name {
		t.Errorf("PUT without time_zone changed it: %+v", got)
	}
	if settingsRow(t, a, hillcrest.ID) != hillBefore {
		t.Errorf("Riverside's PUT changed Hillcrest's settings")
	}
}

func TestSettingsBadInput(t *testing.T) {
	a := startApp(t)
	owner := a.NewStaff(t, riverside, "owner").Token
	before := settingsRow(t, a, riverside.ID)
	_, tz, cur := registryRow(t, a, riverside.ID)
	cases := []struct {
		name   string
		body   any
		raw    string
		status int
	}{
		{"malformed", nil, `{"opening_hours": {`, 400},
		{"clinic name is read-only", map[string]any{"clinic_name": "Mine now"}, "", 400},
		{"clinic id", map[string]any{"clinic_id": hillcrest.ID}, "", 400},
		{"wrong type", map[string]any{"opening_hours": []string{"mon"}}, "", 400},
		{"unknown zone", map[string]any{"time_zone": "Mars/Olympus_Mons"}, "", 422},
		{"local zone", map[string]any{"time_zone": "Local"}, "", 422},
		{"path as zone", map[string]any{"time_zone": "../../../etc/passwd"}, "", 422},
		{"overlong zone", map[string]any{"time_zone": strings.Repeat("A", 65)}, "", 422},
		{"currency", map[string]any{"currency": "Pounds"}, "", 422},
		{"unknown currency", map[string]any{"currency": "ZZZ"}, "", 422},
		{"bad time", map[string]any{"opening_hours": map[string]any{"mon": [][]string{{"08:00", "25:00"}}}}, "", 422},
		{"reversed", map[string]any{"opening_hours": map[string]any{"mon": [][]string{{"17:00", "08:00"}}}}, "", 422},
		{"overlapping", map[string]any{"opening_hours": map[string]any{"mon": [][]string{{"08:00", "12:00"}, {"11:00", "13:00"}}}}, "", 422},
		{"three ends", map[string]any{"opening_hours": map[string]any{"mon": [][]string{{"08:00", "12:00", "13:00"}}}}, "", 422},
		{"unknown day", map[string]any{"opening_hours": map[string]any{"funday": [][]string{}}}, "", 422},
		{"bad date", map[string]any{"closures": []map[string]any{{"date": "2099-02-30", "reason": "x"}}}, "", 400},
		{"same date twice", map[string]any{"closures": []map[string]any{{"date": "2099-01-01", "reason": "a"}, {"date": "2099-01-01", "reason": "b"}}}, "", 422},
		{"overlong reason", map[string]any{"closures": []map[string]any{{"date": "2099-01-01", "reason": strings.Repeat("x", 201)}}}, "", 422},
		{"closure without date", map[string]any{"closures": []map[string]any{{"reason": "x"}}}, "", 422},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r apptest.Response
			if c.raw != "" {
				r = schedRaw(t, a, "PUT", "/api/v1/settings", owner, c.raw)
			} else {
				r = a.Do(t, "PUT", "/api/v1/settings", owner, c.body)
			}
			schedWant(t, c.name, r, c.status, "")
		})
	}
	if settingsRow(t, a, riverside.ID) != before {
		t.Errorf("bad input changed Riverside's settings")
	}
	if _, tz2, cur2 := registryRow(t, a, riverside.ID); tz2 != tz || cur2 != cur {
		t.Errorf("bad input changed the registry: %s %s", tz2, cur2)
	}
}

// TestSettingsRegistry changes a clinic's time zone and currency, which
// live in the registry, and only that clinic's.
func TestSettingsRegistry(t *testing.T) {
	a := startApp(t)
	c, _, owner := settingsClinic(t, a, "Europe/London", "GBP")
	others := map[tenancy.ID][3]string{}
	for _, o := range seed.Clinics {
		n, tz, cur := registryRow(t, a, o.ID)
		others[o.ID] = [3]string{n, tz, cur}
	}

	// A clinic that never saved settings has none, and the first PUT
	// creates them.
	var st store.Settings
	a.Do(t, "GET", "/api/v1/settings", owner, nil).JSON(t, &st)
	if st.ClinicID != c.ID || len(st.OpeningHours["mon"]) != 0 || len(st.Closures) != 0 || st.UpdatedAt != nil {
		t.Errorf("new clinic's settings = %+v", st)
	}

	r := a.Do(t, "PUT", "/api/v1/settings", owner, map[string]any{"time_zone": "America/Denver", "currency": "USD",
		"opening_hours": map[string]any{"mon": [][]string{{"08:00", "16:00"}}}})
	schedWant(t, "PUT zone and currency", r, 200, "")
	r.JSON(t, &st)
	if st.TimeZone != "America/Denver" || st.Currency != "USD" || st.ClinicName != c.Name || st.UpdatedAt == nil {
		t.Errorf("after PUT: %+v", st)
	}
	if n, tz, cur := registryRow(t, a, c.ID); n != c.Name || tz != "America/Denver" || cur != "USD" {
		t.Errorf("registry after PUT: %s %s %s", n, tz, cur)
	}
	for id, want := range others {
		n, tz, cur := registryRow(t, a, id)
		if got := [3]string{n, tz, cur}; got != want {
			t.Errorf("clinic %v changed: %v, want %v", id, got, want)
		}
	}

	// Appointments keep their instant and show the new local time.
	f := &schedFix{a: a, c: c, owner: owner, front: owner}
	f.dentist, _ = schedStaffAt(t, a, owner, c, "dentist")
	f.chair = f.newChair(t)
	body := f.booking(f.patient(t), st.UpdatedAt.UTC(), 30)
	delete(body, "starts_at")
	body["local_start"] = "2060-07-05T09:00:00" // a Monday: the clinic opens only then
	ap := f.mustBook(t, body)
	if ap.LocalStart != "2060-07-05T09:00:00" || ap.StartsAt.Hour() != 15 || ap.TimeZone != "America/Denver" {
		t.Errorf("booked in Denver: %+v", ap)
	}
	schedWant(t, "back to Chicago", a.Do(t, "PUT", "/api/v1/settings", owner, map[string]any{"time_zone": "America/Chicago"}), 200, "")
	var moved store.Appointment
	a.Do(t, "GET", "/api/v1/appointments/"+ap.ID.String(), owner, nil).JSON(t, &moved)
	if moved.LocalStart != "2060-07-05T10:00:00" || !moved.StartsAt.Equal(ap.StartsAt) {
		t.Errorf("after the zone change: %+v", moved)
	}

	// Once the clinic has invoiced, its currency is fixed. (Riverside has.)
	if settingsCount(t, a, `select count(*) from invoices where clinic_id = $1`, riverside.ID) == 0 {
		t.Fatal("Riverside has no invoices; the fixture is missing")
	}
	r = a.Do(t, "PUT", "/api/v1/settings", a.NewStaff(t, riverside, "owner").Token, map[string]any{"currency": "EUR"})
	schedWant(t, "currency after invoices", r, 409, "currency_locked")
	if _, _, cur := registryRow(t, a, riverside.ID); cur != "GBP" {
		t.Errorf("Riverside's currency is %s", cur)
	}
}

func TestFeeSchedule(t *testing.T) {
	a := startApp(t)
	owner := a.NewStaff(t, riverside, "owner").Token
	_, billing := staffRole(t, a, riverside, "billing")
	_, front := staffRole(t, a, riverside, "front_desk")

	r := a.Do(t, "GET", "/api/v1/fee-schedule", billing, nil)
	schedWant(t, "GET as billing", r, 200, "")
	var page struct{ Items []store.Fee }
	r.JSON(t, &page)
	if len(page.Items) == 0 {
		t.Fatal("Riverside has no fee schedule")
	}
	for _, f := range page.Items {
		if f.ClinicID != riverside.ID || f.Currency != "GBP" {
			t.Errorf("fee %+v", f)
		}
	}
	orig := page.Items
	restore := make([]map[string]any, len(orig))
	for i, f := range orig {
		restore[i] = map[string]any{"code": f.Code, "description": f.Description, "price_minor": f.PriceMinor}
	}
	t.Cleanup(func() {
		if r := a.Do(t, "PUT", "/api/v1/fee-schedule", owner, map[string]any{"items": restore}); r.Status != 200 {
			t.Errorf("restoring the fee schedule: %d %s", r.Status, r.Body)
		}
	})
	lakeBefore := settingsFees(t, a, schedLakeside.ID)

	added := append(append([]map[string]any{}, restore...), map[string]any{"code": "TEST-SETTINGS", "description": "Settings test", "price_minor": 1234})
	for who, tok := range map[string]string{"front desk": front, "billing": billing} {
		schedWant(t, "PUT as "+who, a.Do(t, "PUT", "/api/v1/fee-schedule", tok, map[string]any{"items": added}), 403, "forbidden")
	}
	r = a.Do(t, "PUT", "/api/v1/fee-schedule", owner, map[string]any{"items": added})
	schedWant(t, "PUT as owner", r, 200, "")
	r.JSON(t, &page)
	if len(page.Items) != len(orig)+1 {
		t.Errorf("after PUT: %d lines, want %d", len(page.Items), len(orig)+1)
	}
	if fees := settingsFees(t, a, riverside.ID); fees["TEST-SETTINGS"] != 1234 {
		t.Errorf("stored fees %v", fees)
	}
	if diff := cmp.Diff(lakeBefore, settingsFees(t, a, schedLakeside.ID)); diff != "" {
		t.Errorf("Riverside's PUT changed Lakeside's fees:\n%s", diff)
	}

	for name, items := range map[string]any{
		"bad code":       []map[string]any{{"code": "no spaces", "description": "x", "price_minor": 1}},
		"duplicate code": []map[string]any{{"code": "A", "description": "x", "price_minor": 1}, {"code": "a", "description": "y", "price_minor": 2}},
		"negative price": []map[string]any{{"code": "A", "description": "x", "price_minor": -1}},
		"empty desc":     []map[string]any{{"code": "A", "description": "", "price_minor": 1}},
		"float price":    []map[string]any{{"code": "A", "description": "x", "price_minor": 12.5}},
		"missing items":  nil,
	} {
		body := map[string]any{"items": items}
		if items == nil {
			body = map[string]any{}
		}
		r := a.Do(t, "PUT", "/api/v1/fee-schedule", owner, body)
		if r.Status < 400 || r.Status >= 500 || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if fees := settingsFees(t, a, riverside.ID); len(fees) != len(orig)+1 {
		t.Errorf("bad input changed the fee schedule: %v", fees)
	}
}

func TestOperatories(t *testing.T) {
	a := startApp(t)
	owner := a.NewStaff(t, riverside, "owner").Token
	_, hyg := staffRole(t, a, riverside, "hygienist")
	_, front := staffRole(t, a, riverside, "front_desk")
	_, dentist := staffRole(t, a, riverside, "dentist")
	name := "Op test " + tenancy.NewID().String()[24:]

	for who, tok := range map[string]string{"dentist": dentist, "front desk": front} {
		schedWant(t, "POST as "+who, a.Do(t, "POST", "/api/v1/operatories", tok, map[string]any{"name": name}), 403, "forbidden")
	}
	r := a.Do(t, "POST", "/api/v1/operatories", owner, map[string]any{"name": "  " + name + " "})
	schedWant(t, "POST as owner", r, 201, "")
	var op store.Operatory
	r.JSON(t, &op)
	if op.Name != name || op.Hidden || op.ClinicID != riverside.ID {
		t.Errorf("created %+v", op)
	}
	schedWant(t, "same name", a.Do(t, "POST", "/api/v1/operatories", owner, map[string]any{"name": name}), 409, "name_taken")
	schedWant(t, "Chair 1 again", a.Do(t, "POST", "/api/v1/operatories", owner, map[string]any{"name": "Chair 1"}), 409, "name_taken")
	for _, bad := range []map[string]any{{"name": ""}, {"name": strings.Repeat("c", 101)}, {}, {"name": 7}, {"name": "x", "id": tenancy.NewID()}} {
		r := a.Do(t, "POST", "/api/v1/operatories", owner, bad)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("POST %v: %d %s", bad, r.Status, r.Body)
		}
	}

	p := "/api/v1/operatories/" + op.ID.String()
	schedWant(t, "PATCH as front desk", a.Do(t, "PATCH", p, front, map[string]any{"hidden": true}), 403, "forbidden")
	r = a.Do(t, "PATCH", p, owner, map[string]any{"name": name + " (old)", "hidden": true})
	schedWant(t, "PATCH as owner", r, 200, "")
	r.JSON(t, &op)
	if !op.Hidden || op.Name != name+" (old)" {
		t.Errorf("after PATCH %+v", op)
	}

	// The list, for any staff role, has hidden chairs too, all Riverside's.
	r = a.Do(t, "GET", "/api/v1/operatories", hyg, nil)
	schedWant(t, "GET as hygienist", r, 200, "")
	schedCheckClinic(t, r.Body, riverside.ID)
	var page struct{ Items []store.Operatory }
	r.JSON(t, &page)
	found := false
	for _, o := range page.Items {
		found = found || o.ID == op.ID && o.Hidden
	}
	if !found {
		t.Errorf("hidden chair missing from the list")
	}

	// Hillcrest's chair: it exists, and is 404 at Riverside like a made-up id.
	var hillPage struct{ Items []store.Operatory }
	a.Do(t, "GET", "/api/v1/operatories", a.NewStaff(t, hillcrest, "owner").Token, nil).JSON(t, &hillPage)
	if len(hillPage.Items) == 0 || hillPage.Items[0].ClinicID != hillcrest.ID {
		t.Fatalf("Hillcrest's chairs = %+v", hillPage.Items)
	}
	foreign := hillPage.Items[0]
	got := a.Do(t, "PATCH", "/api/v1/operatories/"+foreign.ID.String(), owner, map[string]any{"hidden": true})
	want := a.Do(t, "PATCH", "/api/v1/operatories/"+tenancy.NewID().String(), owner, map[string]any{"hidden": true})
	if got.Status != 404 || !bytes.Equal(got.Body, want.Body) {
		t.Errorf("PATCH another clinic's chair: %d %s; unknown: %d %s", got.Status, got.Body, want.Status, want.Body)
	}
	var hidden bool
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select hidden from operatories where id = $1`, foreign.ID).Scan(&hidden); err != nil || hidden != foreign.Hidden {
		t.Errorf("Hillcrest's chair hidden = %v (%v) after Riverside's refused PATCH", hidden, err)
	}
}

// schedStaffAt adds a staff account at clinic c through the API with the
// given owner token.
func schedStaffAt(t *testing.T, a *apptest.App, owner string, c seed.Clinic, roles ...string) (tenancy.ID, string) {
	t.Helper()
	email := "staff-" + tenancy.NewID().String()[24:] + "@" + c.Slug + ".example"
	r := a.Do(t, "POST", "/api/v1/staff", owner, map[string]any{"email": email, "name": "Staff " + strings.Join(roles, " "), "roles": roles, "password": seed.Password})
	if r.Status != http.StatusCreated {
		t.Fatalf("create staff: %d %s", r.Status, r.Body)
	}
	var m store.StaffMember
	r.JSON(t, &m)
	return m.ID, a.SignIn(t, email, tenancy.ID{})
}

func TestStaff(t *testing.T) {
	a := startApp(t)
	owner := a.NewStaff(t, riverside, "owner").Token
	_, front := staffRole(t, a, riverside, "front_desk")
	_, hyg := staffRole(t, a, riverside, "hygienist")
	suffix := tenancy.NewID().String()[24:]
	email := "New.Hire-" + suffix + "@Riverside.Example"
	body := map[string]any{"email": email, "name": "New Hire", "roles": []string{"hygienist", "hygienist"}, "password": seed.Password}

	schedWant(t, "POST as front desk", a.Do(t, "POST", "/api/v1/staff", front, body), 403, "forbidden")
	r := a.Do(t, "POST", "/api/v1/staff", owner, body)
	schedWant(t, "POST as owner", r, 201, "")
	var m store.StaffMember
	r.JSON(t, &m)
	if m.Email != strings.ToLower(email) || m.ClinicID != riverside.ID || len(m.Roles) != 1 || m.Disabled {
		t.Errorf("created %+v", m)
	}
	if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), "password") {
		t.Errorf("the apptest.Response shows the password or its hash: %s", r.Body)
	}
	var hash string
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select password_hash from staff where id = $1`, m.ID).Scan(&hash); err != nil ||
		passwords.Check(hash, seed.Password) != nil {
		t.Errorf("stored hash %q does not check (%v)", hash, err)
	}
	body["email"] = strings.ToUpper(email)
	schedWant(t, "same email, other case", a.Do(t, "POST", "/api/v1/staff", owner, body), 409, "email_taken")
	// The same email is fine at another clinic.
	body["email"] = strings.ToLower(email)
	schedWant(t, "same email at Hillcrest", a.Do(t, "POST", "/api/v1/staff", a.NewStaff(t, hillcrest, "owner").Token, body), 201, "")

	for name, bad := range map[string]map[string]any{
		"no roles":      {"email": "x" + suffix + "@r.example", "name": "X", "roles": []string{}, "password": seed.Password},
		"support role":  {"email": "x" + suffix + "@r.example", "name": "X", "roles": []string{"support"}, "password": seed.Password},
		"short pw":      {"email": "x" + suffix + "@r.example", "name": "X", "roles": []string{"billing"}, "password": "short"},
		"bad email":     {"email": "not an email", "name": "X", "roles": []string{"billing"}, "password": seed.Password},
		"long name":     {"email": "x" + suffix + "@r.example", "name": strings.Repeat("n", 201), "roles": []string{"billing"}, "password": seed.Password},
		"unknown field": {"email": "x" + suffix + "@r.example", "name": "X", "roles": []string{"billing"}, "password": seed.Password, "clinic_id": hillcrest.ID},
	} {
		r := a.Do(t, "POST", "/api/v1/staff", owner, bad)
		if r.Status < 400 || r.Status >= 500 || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if n := settingsCount(t, a, `select count(*) from staff where email = $1`, "x"+suffix+"@r.example"); n != 0 {
		t.Errorf("bad input created %d accounts", n)
	}

	// Everyone reads the list; no hashes in it.
	r = a.Do(t, "GET", "/api/v1/staff", hyg, nil)
	schedWant(t, "GET as hygienist", r, 200, "")
	schedCheckClinic(t, r.Body, riverside.ID)
	if strings.Contains(string(r.Body), "argon2") {
		t.Errorf("staff list shows password hashes")
	}

	// PATCH: owner only; disabling stops sign-in.
	p := "/api/v1/staff/" + m.ID.String()
	schedWant(t, "PATCH as front desk", a.Do(t, "PATCH", p, front, map[string]any{"name": "X"}), 403, "forbidden")
	r = a.Do(t, "PATCH", p, owner, map[string]any{"name": "Renamed", "roles": []string{"dentist", "hygienist"}, "disabled": true})
	schedWant(t, "PATCH as owner", r, 200, "")
	r.JSON(t, &m)
	if m.Name != "Renamed" || !m.Disabled || len(m.Roles) != 2 {
		t.Errorf("after PATCH %+v", m)
	}
	login := a.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": m.Email, "password": seed.Password, "clinic_id": riverside.ID})
	schedWant(t, "disabled sign-in", login, 401, "")

	// Hillcrest's staff member: exists, and is 404 at Riverside.
	var hillStaff struct{ Items []store.StaffMember }
	a.Do(t, "GET", "/api/v1/staff", a.NewStaff(t, hillcrest, "owner").Token, nil).JSON(t, &hillStaff)
	if len(hillStaff.Items) == 0 || hillStaff.Items[0].ClinicID != hillcrest.ID {
		t.Fatalf("Hillcrest's staff = %+v", hillStaff.Items)
	}
	got := a.Do(t, "PATCH", "/api/v1/staff/"+hillStaff.Items[0].ID.String(), owner, map[string]any{"disabled": true})
	want := a.Do(t, "PATCH", "/api/v1/staff/"+tenancy.NewID().String(), owner, map[string]any{"disabled": true})
	if got.Status != 404 || !bytes.Equal(got.Body, want.Body) {
		t.Errorf("PATCH another clinic's staff: %d %s; unknown: %d %s", got.Status, got.Body, want.Status, want.Body)
	}
	if n := settingsCount(t, a, `select count(*) from staff where id = $1 and disabled`, hillStaff.Items[0].ID); n != 0 {
		t.Errorf("Riverside's refused PATCH disabled Hillcrest's staff member")
	}
}

// TestLastOwner works in a clinic of its own, since it takes owners away.
func TestLastOwner(t *testing.T) {
	a := startApp(t)
	c, ownerID, owner := settingsClinic(t, a, "Europe/London", "GBP")
	self := "/api/v1/staff/" + ownerID.String()
	schedWant(t, "disable self", a.Do(t, "PATCH", self, owner, map[string]any{"disabled": true}), 409, "cannot_disable_self")
	schedWant(t, "last owner steps down", a.Do(t, "PATCH", self, owner, map[string]any{"roles": []string{"dentist"}}), 409, "last_owner")
	schedWant(t, "rename self", a.Do(t, "PATCH", self, owner, map[string]any{"name": "Still Owner"}), 200, "")

	// Owners demoting each other in a ring, all at once: every owner is
	// someone's target, so the owner-row locks must keep the last owner
	// from being demoted. A demoted owner's tokens are revoked at once, so
	// a request whose sender was demoted a moment earlier answers 401; the
	// rest succeed or are refused as the last owner. Never zero owners.
	ids, toks := []tenancy.ID{ownerID}, []string{owner}
	for range 5 {
		id, tok := schedStaffAt(t, a, owner, c, "owner")
		ids, toks = append(ids, id), append(toks, tok)
	}
	results := make([]apptest.Response, len(ids))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			target := ids[(i+1)%len(ids)]
			results[i] = a.Do(t, "PATCH", "/api/v1/staff/"+target.String(), toks[i], map[string]any{"roles": []string{"dentist"}})
		}()
	}
	close(start)
	wg.Wait()
	ok, revoked := 0, 0
	for _, r := range results {
		switch r.Status {
		case http.StatusOK:
			ok++
		case http.StatusUnauthorized:
			revoked++ // the sender had just been demoted
		default:
			schedWant(t, "the last demotion", r, 409, "last_owner")
		}
	}
	left := settingsCount(t, a, `select count(*) from staff where clinic_id = $1 and 'owner' = any(roles) and not disabled`, c.ID)
	if left < 1 {
		t.Fatalf("no owner left: %d demotions succeeded", ok)
	}
	if left != int64(len(ids)-ok) {
		t.Errorf("%d owners left after %d of %d demotions", left, ok, len(ids))
	}
	if revoked == 0 && left != 1 {
		t.Errorf("every request was served, yet %d owners are left, want 1", left)
	}
}

// settingsCount runs a privileged count.
func settingsCount(t *testing.T, a *apptest.App, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// settingsFees reads a clinic's fee schedule as the superuser.
func settingsFees(t *testing.T, a *apptest.App, clinic tenancy.ID) map[string]int64 {
	t.Helper()
	rows, err := a.DB.Conn(t, pgtest.Admin).Query(context.Background(), `select code, price_minor from fee_schedule where clinic_id = $1`, clinic)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	fees := map[string]int64{}
	for rows.Next() {
		var code string
		var price int64
		if err := rows.Scan(&code, &price); err != nil {
			t.Fatal(err)
		}
		fees[code] = price
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return fees
}
