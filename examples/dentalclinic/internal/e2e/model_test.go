package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"pgregory.net/rapid"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// modelChecks is the number of random sequences (of about 30 steps,
// rapid's default) that TestModelOwnership runs when -rapid.checks is not
// given: enough to cover every operation and actor in CI, in a few
// seconds. Run more with, for example, -rapid.checks=500 -rapid.steps=60.
const modelChecks = 15

// modelActor is one caller of the model test.
type modelActor struct {
	name    string
	token   string
	kind    tenancy.Kind
	clinic  tenancy.ID // zero for the platform admin outside any clinic
	roles   []string
	patient tenancy.ID // a portal patient's own record
	grant   tenancy.ID // an impersonation's grant
}

// writes reports whether the actor may create and change patients (the
// routes' Allow: clinical roles, and "support" for an impersonating admin).
func (a *modelActor) writes() bool {
	return a.kind != kinds.Patient && !a.clinic.IsZero() &&
		slices.ContainsFunc(a.roles, func(r string) bool {
			return slices.Contains([]string{"owner", "dentist", "hygienist", "front_desk", "support"}, r)
		})
}

// reads reports whether the actor may read patients (any staff role).
func (a *modelActor) reads() bool {
	return a.kind != kinds.Patient && !a.clinic.IsZero() && len(a.roles) > 0
}

// GoString names the actor in rapid's logs, which print every draw: never
// its token.
func (a *modelActor) GoString() string { return a.name }

// billsWrite and billsRead are the invoice routes' roles.
func (a *modelActor) billsWrite() bool { return a.hasRole("owner", "billing", "support") }
func (a *modelActor) billsRead() bool  { return a.hasRole("owner", "billing", "front_desk", "support") }

func (a *modelActor) hasRole(roles ...string) bool {
	return a.kind != kinds.Patient && !a.clinic.IsZero() &&
		slices.ContainsFunc(a.roles, func(r string) bool { return slices.Contains(roles, r) })
}

// modelInvoice is what the model knows of an invoice it created.
type modelInvoice struct {
	id, clinic, patient tenancy.ID
}

// GoString names the invoice in rapid's logs.
func (i *modelInvoice) GoString() string {
	return fmt.Sprintf("invoice %s of clinic %s", i.id, i.clinic)
}

// modelPatient is what the model knows of a patient it created.
type modelPatient struct {
	id     tenancy.ID
	clinic tenancy.ID
	phone  string
}

// GoString names the patient in rapid's logs.
func (p *modelPatient) GoString() string {
	return fmt.Sprintf("patient %s of clinic %s", p.id, p.clinic)
}

// ownershipModel is the in-memory model of who owns what, for one
// sequence.
type ownershipModel struct {
	a        *apptest.App
	tag      string // the family name of this sequence's patients
	actors   []*modelActor
	patients []*modelPatient
	invoices []*modelInvoice
	fees     map[tenancy.ID]string // a fee code of each clinic
	// requests counts the requests made under each impersonation grant.
	requests map[tenancy.ID]int
	// ended are impersonations the admin has ended: their tokens are
	// refused, and their requests are not audited as actions.
	ended []*modelActor
	admin string        // the platform admin's session
	db    *pgxpool.Pool // the superuser
}

// TestModelOwnership runs random sequences of operations by random actors
// (staff of every role at three clinics, portal patients at two, the
// platform admin outside any clinic and impersonating one) against an
// in-memory model of which clinic owns which patient and invoice. After
// every step: no answer carries a patient or invoice of another clinic (or,
// for the portal, another patient's), and another clinic's answers exactly
// as a missing one; a refused call changes nothing (the patient's row and
// invoices, as the superuser reads them, and the number of the sequence's
// patients); and each request made under an impersonation has exactly one
// audit event, while an ended impersonation's token is refused and its
// requests are no actions.
// The app and database are real; the app is the package's shared one.
func TestModelOwnership(t *testing.T) {
	a := startApp(t)
	if !flagSet("rapid.checks") {
		setFlag(t, "rapid.checks", strconv.Itoa(modelChecks))
	}
	clinics := []seed.Clinic{riverside, hillcrest, seed.Clinics[2]}
	var base []*modelActor
	for _, c := range clinics {
		base = append(base, &modelActor{name: c.Slug + "/owner", token: a.NewStaff(t, c, "owner").Token, kind: kinds.Staff, clinic: c.ID, roles: []string{"owner"}})
		for _, role := range []string{"dentist", "hygienist", "front_desk", "billing"} {
			_, tok := staffRole(t, a, c, role)
			base = append(base, &modelActor{name: c.Slug + "/" + role, token: tok, kind: kinds.Staff, clinic: c.ID, roles: []string{role}})
		}
	}
	for _, c := range clinics[:2] {
		p := newModelPortal(t, a, c)
		base = append(base, p)
	}
	admin := a.SignInAdmin(t)
	super := a.DB.Pool(t, pgtest.Admin)
	base = append(base, &modelActor{name: "platform-admin", token: admin, kind: kinds.PlatformAdmin})

	fees := map[tenancy.ID]string{}
	for _, c := range clinics {
		for code := range a.Fees(t, c.ID) {
			fees[c.ID] = code
			break
		}
	}

	rapid.Check(t, func(rt *rapid.T) {
		m := &ownershipModel{a: a, tag: "Model" + tenancy.NewID().String()[24:], actors: slices.Clone(base), requests: map[tenancy.ID]int{}, admin: admin, db: super, fees: fees}
		defer m.endImpersonations(rt)
		// Every clinic starts with one patient of the sequence's own, so
		// that reads of other clinics' patients can be drawn at once.
		for _, c := range clinics {
			m.create(rt, m.actors[slices.IndexFunc(m.actors, func(x *modelActor) bool { return x.clinic == c.ID && slices.Contains(x.roles, "front_desk") })])
		}
		rt.Repeat(map[string]func(*rapid.T){
			"create": func(rt *rapid.T) { m.create(rt, m.drawActor(rt)) },
			"read":   func(rt *rapid.T) { m.read(rt, m.drawActor(rt), m.drawPatient(rt)) },
			"update": func(rt *rapid.T) { m.update(rt, m.drawActor(rt), m.drawPatient(rt)) },
			"search": func(rt *rapid.T) { m.search(rt, m.drawActor(rt)) },
			"bill":   func(rt *rapid.T) { m.bill(rt, m.drawActor(rt), m.drawPatient(rt)) },
			"readInvoice": func(rt *rapid.T) {
				if len(m.invoices) == 0 {
					rt.Skip("no invoice yet")
				}
				m.readInvoice(rt, m.drawActor(rt), rapid.SampledFrom(m.invoices).Draw(rt, "invoice"))
			},
			"portal": func(rt *rapid.T) { m.portalMe(rt, m.drawActor(rt)) },
			"impersonate": func(rt *rapid.T) {
				c := rapid.SampledFrom(clinics).Draw(rt, "clinic")
				m.impersonate(rt, c)
			},
			"end": func(rt *rapid.T) {
				i := slices.IndexFunc(m.actors, func(x *modelActor) bool { return !x.grant.IsZero() })
				if i < 0 {
					rt.Skip("no impersonation to end")
				}
				m.endImpersonation(rt, i)
			},
			"ended": func(rt *rapid.T) {
				if len(m.ended) == 0 {
					rt.Skip("no ended impersonation")
				}
				m.endedCall(rt, rapid.SampledFrom(m.ended).Draw(rt, "ended"), m.drawPatient(rt))
			},
			"": func(rt *rapid.T) { m.checkAudit(rt) },
		})
	})
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// setFlag sets a flag for the test and restores it afterwards.
func setFlag(t *testing.T, name, value string) {
	f := flag.Lookup(name)
	if f == nil {
		t.Fatalf("no flag %s", name)
	}
	old := f.Value.String()
	if err := f.Value.Set(value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Value.Set(old) })
}

func newModelPortal(t *testing.T, a *apptest.App, c seed.Clinic) *modelActor {
	t.Helper()
	desk := a.NewStaff(t, c, "front_desk").Token
	var pt patientJSON
	r := a.Do(t, "POST", "/api/v1/patients", desk, map[string]any{"given_name": "Model", "family_name": "Portal " + tenancy.NewID().String()[24:]})
	if r.Status != http.StatusCreated {
		t.Fatalf("create patient at %s: %d %s", c.Slug, r.Status, r.Body)
	}
	r.JSON(t, &pt)
	// An account made as the superuser: enrolment through the API is
	// rate-limited per address, and other tests of the package enrol.
	email := a.NewPortalAccount(t, c.ID, pt.ID)
	return &modelActor{name: c.Slug + "/portal", token: a.SignInPortal(t, email, seed.Password, c.ID), kind: kinds.Patient, clinic: c.ID, patient: pt.ID}
}

func (m *ownershipModel) drawActor(rt *rapid.T) *modelActor {
	return rapid.SampledFrom(m.actors).Draw(rt, "actor")
}

func (m *ownershipModel) drawPatient(rt *rapid.T) *modelPatient {
	return rapid.SampledFrom(m.patients).Draw(rt, "patient")
}

// call makes a request as actor and counts it under its grant.
func (m *ownershipModel) call(rt *rapid.T, actor *modelActor, method, path string, body any) apptest.Response {
	r := m.do(rt, method, path, actor.token, body)
	if !actor.grant.IsZero() {
		m.requests[actor.grant]++
	}
	m.noForeign(rt, actor, method+" "+path, r)
	return r
}

// noForeign checks that a successful answer names no patient of the
// model that the actor does not own, and that every clinic_id in it is the
// actor's.
func (m *ownershipModel) noForeign(rt *rapid.T, actor *modelActor, what string, r apptest.Response) {
	if r.Status/100 != 2 {
		return
	}
	for _, p := range m.patients {
		if !m.owns(actor, p) && bytes.Contains(r.Body, []byte(p.id.String())) {
			rt.Fatalf("LEAK: %s as %s returned patient %s of clinic %s: %s", what, actor.name, p.id, p.clinic, r.Body)
		}
	}
	for _, i := range m.invoices {
		if !m.ownsInvoice(actor, i) && bytes.Contains(r.Body, []byte(i.id.String())) {
			rt.Fatalf("LEAK: %s as %s returned invoice %s of clinic %s: %s", what, actor.name, i.id, i.clinic, r.Body)
		}
	}
	if actor.clinic.IsZero() {
		return
	}
	var v any
	if json.Unmarshal(r.Body, &v) != nil {
		return
	}
	walk(v, func(obj map[string]any) {
		if c, ok := obj["clinic_id"]; ok && c != actor.clinic.String() {
			rt.Fatalf("LEAK: %s as %s returned an object of clinic %v: %s", what, actor.name, c, r.Body)
		}
	})
}

func walk(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, e := range x {
			walk(e, fn)
		}
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	}
}

// owns reports whether actor may see p: staff (and an impersonating
// admin) of its clinic, and the portal patient who is p.
func (m *ownershipModel) owns(actor *modelActor, p *modelPatient) bool {
	if actor.kind == kinds.Patient {
		return actor.patient == p.id
	}
	return !actor.clinic.IsZero() && actor.clinic == p.clinic
}

// ownsInvoice reports whether actor may see i: staff of its clinic, and
// the portal patient it bills.
func (m *ownershipModel) ownsInvoice(actor *modelActor, i *modelInvoice) bool {
	if actor.kind == kinds.Patient {
		return actor.patient == i.patient
	}
	return !actor.clinic.IsZero() && actor.clinic == i.clinic
}

// bill drafts an invoice for p: for a billing writer of p's clinic it is
// created; anyone else is refused, and p's invoices do not change.
func (m *ownershipModel) bill(rt *rapid.T, actor *modelActor, p *modelPatient) {
	count := func() int { return m.count(rt, `select count(*) from invoices where patient_id = $1`, p.id) }
	before := count()
	fee := m.fees[actor.clinic]
	if fee == "" {
		fee = m.fees[p.clinic]
	}
	r := m.call(rt, actor, "POST", "/api/v1/invoices", map[string]any{"patient_id": p.id, "lines": []any{apptest.FeeLine(fee, 1)}})
	switch {
	case actor.billsWrite() && actor.clinic == p.clinic:
		var inv struct {
			ID       tenancy.ID `json:"id"`
			ClinicID tenancy.ID `json:"clinic_id"`
		}
		if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &inv) != nil || inv.ClinicID != actor.clinic {
			rt.Fatalf("invoice for its own clinic's patient as %s: %d %s", actor.name, r.Status, r.Body)
		}
		m.invoices = append(m.invoices, &modelInvoice{id: inv.ID, clinic: p.clinic, patient: p.id})
		return
	case actor.billsWrite():
		// Another clinic's patient is as missing: the same 4xx, byte for
		// byte, as for a patient that exists nowhere.
		missing := m.call(rt, actor, "POST", "/api/v1/invoices", map[string]any{"patient_id": tenancy.NewID(), "lines": []any{apptest.FeeLine(fee, 1)}})
		if r.Status/100 != 4 || r.Status == http.StatusForbidden || !r.IsProblem() || !bytes.Equal(r.Body, missing.Body) {
			rt.Fatalf("invoice for another clinic's patient as %s: %d %s; for a missing patient: %d %s", actor.name, r.Status, r.Body, missing.Status, missing.Body)
		}
	default:
		if r.Status != http.StatusForbidden {
			rt.Fatalf("invoice as %s: %d %s, want 403", actor.name, r.Status, r.Body)
		}
	}
	if n := count(); n != before {
		rt.Fatalf("a refused invoice as %s changed patient %s's invoices: %d -> %d", actor.name, p.id, before, n)
	}
}

func (m *ownershipModel) readInvoice(rt *rapid.T, actor *modelActor, i *modelInvoice) {
	r := m.call(rt, actor, "GET", "/api/v1/invoices/"+i.id.String(), nil)
	switch {
	case !actor.billsRead():
		if r.Status != http.StatusForbidden {
			rt.Fatalf("invoice read as %s: %d %s, want 403", actor.name, r.Status, r.Body)
		}
	case m.ownsInvoice(actor, i):
		if r.Status != http.StatusOK {
			rt.Fatalf("invoice of its own clinic as %s: %d %s", actor.name, r.Status, r.Body)
		}
	default:
		missing := m.do(rt, "GET", "/api/v1/invoices/"+tenancy.NewID().String(), actor.token, nil)
		if !actor.grant.IsZero() {
			m.requests[actor.grant]++
		}
		if r.Status != http.StatusNotFound || !bytes.Equal(r.Body, missing.Body) {
			rt.Fatalf("invoice of another clinic as %s: %d %s; a missing one: %d %s", actor.name, r.Status, r.Body, missing.Status, missing.Body)
		}
	}
}

// tagCount is the number of the sequence's patients in the database.
func (m *ownershipModel) tagCount(rt *rapid.T) int {
	return m.count(rt, `select count(*) from patients where family_name = $1`, m.tag)
}

func (m *ownershipModel) create(rt *rapid.T, actor *modelActor) {
	before := m.tagCount(rt)
	phone := fmt.Sprintf("+44 7700 9%05d", rapid.IntRange(0, 99999).Draw(rt, "phone"))
	r := m.call(rt, actor, "POST", "/api/v1/patients", map[string]any{"given_name": "Model", "family_name": m.tag, "phone": phone})
	if !actor.writes() {
		if r.Status != http.StatusForbidden {
			rt.Fatalf("create as %s: %d %s, want 403", actor.name, r.Status, r.Body)
		}
		if n := m.tagCount(rt); n != before {
			rt.Fatalf("a refused create as %s changed the patients: %d -> %d", actor.name, before, n)
		}
		return
	}
	if r.Status != http.StatusCreated {
		rt.Fatalf("create as %s: %d %s", actor.name, r.Status, r.Body)
	}
	var p patientJSON
	if err := json.Unmarshal(r.Body, &p); err != nil || p.ClinicID != actor.clinic {
		rt.Fatalf("create as %s: %s", actor.name, r.Body)
	}
	m.patients = append(m.patients, &modelPatient{id: p.ID, clinic: actor.clinic, phone: phone})
}

func (m *ownershipModel) read(rt *rapid.T, actor *modelActor, p *modelPatient) {
	r := m.call(rt, actor, "GET", "/api/v1/patients/"+p.id.String(), nil)
	switch {
	case !actor.reads():
		if r.Status != http.StatusForbidden {
			rt.Fatalf("read as %s: %d %s, want 403", actor.name, r.Status, r.Body)
		}
	case m.owns(actor, p):
		if r.Status != http.StatusOK {
			rt.Fatalf("read of its own clinic's patient as %s: %d %s", actor.name, r.Status, r.Body)
		}
	default:
		missing := m.do(rt, "GET", "/api/v1/patients/"+tenancy.NewID().String(), actor.token, nil)
		if !actor.grant.IsZero() {
			m.requests[actor.grant]++
		}
		if r.Status != http.StatusNotFound || !bytes.Equal(r.Body, missing.Body) {
			rt.Fatalf("read of another clinic's patient as %s: %d %s; a missing one: %d %s", actor.name, r.Status, r.Body, missing.Status, missing.Body)
		}
	}
}

func (m *ownershipModel) update(rt *rapid.T, actor *modelActor, p *modelPatient) {
	phone := fmt.Sprintf("+44 7700 8%05d", rapid.IntRange(0, 99999).Draw(rt, "phone"))
	r := m.call(rt, actor, "PATCH", "/api/v1/patients/"+p.id.String(), map[string]any{"phone": phone})
	switch {
	case actor.writes() && m.owns(actor, p):
		if r.Status != http.StatusOK {
			rt.Fatalf("update of its own clinic's patient as %s: %d %s", actor.name, r.Status, r.Body)
		}
		p.phone = phone
	case actor.writes():
		if r.Status != http.StatusNotFound {
			rt.Fatalf("update of another clinic's patient as %s: %d %s, want 404", actor.name, r.Status, r.Body)
		}
	default:
		if r.Status != http.StatusForbidden {
			rt.Fatalf("update as %s: %d %s, want 403", actor.name, r.Status, r.Body)
		}
	}
	// Refused or not, the row is what the model says.
	var got string
	if err := m.db.QueryRow(context.Background(), `select coalesce(phone, '') from patients where id = $1`, p.id).Scan(&got); err != nil || got != p.phone {
		rt.Fatalf("after PATCH as %s (%d), patient %s has phone %q (%v), the model %q", actor.name, r.Status, p.id, got, err, p.phone)
	}
}

func (m *ownershipModel) search(rt *rapid.T, actor *modelActor) {
	r := m.call(rt, actor, "GET", "/api/v1/patients?limit=200&q="+m.tag, nil)
	if !actor.reads() {
		if r.Status != http.StatusForbidden {
			rt.Fatalf("search as %s: %d %s, want 403", actor.name, r.Status, r.Body)
		}
		return
	}
	var page struct{ Items []patientJSON }
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &page) != nil {
		rt.Fatalf("search as %s: %d %s", actor.name, r.Status, r.Body)
	}
	var want, got []string
	for _, p := range m.patients {
		if m.owns(actor, p) {
			want = append(want, p.id.String())
		}
	}
	for _, p := range page.Items {
		got = append(got, p.ID.String())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		rt.Fatalf("search as %s found %v, the model has %v", actor.name, got, want)
	}
}

func (m *ownershipModel) portalMe(rt *rapid.T, actor *modelActor) {
	r := m.call(rt, actor, "GET", "/api/v1/portal/me", nil)
	if actor.kind != kinds.Patient {
		if r.Status != http.StatusForbidden {
			rt.Fatalf("portal/me as %s: %d %s, want 403", actor.name, r.Status, r.Body)
		}
		return
	}
	var me patientJSON
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &me) != nil || me.ID != actor.patient || me.ClinicID != actor.clinic {
		rt.Fatalf("portal/me as %s: %d %s", actor.name, r.Status, r.Body)
	}
}

// impersonate starts an impersonation of c, which joins the actors.
func (m *ownershipModel) impersonate(rt *rapid.T, c seed.Clinic) {
	r := m.do(rt, "POST", "/api/v1/admin/impersonations", m.admin, map[string]any{"clinic_id": c.ID, "reason": "model test", "minutes": 5})
	if r.Status != http.StatusCreated {
		rt.Fatalf("impersonate %s: %d %s", c.Slug, r.Status, r.Body)
	}
	var g struct {
		GrantID tenancy.ID `json:"grant_id"`
		Token   string     `json:"token"`
	}
	if err := json.Unmarshal(r.Body, &g); err != nil {
		rt.Fatal(err)
	}
	m.requests[g.GrantID] = 0
	m.actors = append(m.actors, &modelActor{name: "platform-admin-as-" + c.Slug, token: g.Token, kind: kinds.PlatformAdmin, clinic: c.ID, roles: []string{"support"}, grant: g.GrantID})
}

// endImpersonation ends the impersonation of m.actors[i].
func (m *ownershipModel) endImpersonation(rt *rapid.T, i int) {
	actor := m.actors[i]
	r := m.do(rt, "DELETE", "/api/v1/admin/impersonations/"+actor.grant.String(), m.admin, nil)
	if r.Status != http.StatusOK {
		rt.Fatalf("ending %s: %d %s", actor.name, r.Status, r.Body)
	}
	m.actors = slices.Delete(m.actors, i, i+1)
	m.ended = append(m.ended, actor)
}

// endedCall: an ended impersonation's token is refused with 401, and the
// refused request is no action of the grant's.
func (m *ownershipModel) endedCall(rt *rapid.T, actor *modelActor, p *modelPatient) {
	r := m.do(rt, "GET", "/api/v1/patients/"+p.id.String(), actor.token, nil)
	if r.Status != http.StatusUnauthorized || !r.IsProblem() {
		rt.Fatalf("a request under the ended %s: %d %s, want 401", actor.name, r.Status, r.Body)
	}
}

// checkAudit: every request under each grant has exactly one audit event.
func (m *ownershipModel) checkAudit(rt *rapid.T) {
	for grant, n := range m.requests {
		if got := m.count(rt, `select count(*) from audit.events where impersonation_grant_id = $1 and action not like 'impersonation.%'`, grant); got != n {
			rt.Fatalf("grant %s: %d requests, %d audit events", grant, n, got)
		}
	}
}

func (m *ownershipModel) endImpersonations(rt *rapid.T) {
	m.checkAudit(rt)
	for grant := range m.requests {
		m.do(rt, "DELETE", "/api/v1/admin/impersonations/"+grant.String(), m.admin, nil)
	}
}

// do makes a request as token, inside a property.
func (m *ownershipModel) do(rt *rapid.T, method, path, token string, body any) apptest.Response {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			rt.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, m.a.Base+path, rd)
	if err != nil {
		rt.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		rt.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rt.Fatal(err)
	}
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// count runs a count as the superuser, inside a property.
func (m *ownershipModel) count(rt *rapid.T, sql string, args ...any) int {
	var n int
	if err := m.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		rt.Fatalf("%s: %v", sql, err)
	}
	return n
}
