package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// portalInviters hand out portal invite codes (not an impersonating admin:
// an account made from such a code would outlive the grant).
var portalInviters = access.PortalInviters

func (s *Server) patientRoutes() {
	s.handle("GET /patients", anyStaff, s.patients)
	s.handle("GET /patients/new", patientWriters, s.newPatient)
	s.handle("POST /patients", patientWriters, s.createPatient)
	s.handle("GET /patients/{id}", anyStaff, s.chart)
	s.handle("GET /patients/{id}/edit", patientWriters, s.editPatient)
	s.handle("POST /patients/{id}", patientWriters, s.updatePatient)
	s.handle("POST /patients/{id}/prescriptions", prescribers, s.prescribe)
	s.handle("POST /patients/{id}/portal-invite", portalInviters, s.portalInvite)
}

type patientsData struct {
	Query    string
	Searched bool
	Results  []store.Patient
	// Next is the link to the next page, "" on the last.
	Next string
	// Paged is set past the first page.
	Paged     bool
	CanCreate bool
}

// patients lists the clinic's patients by name, a page at a time (the
// store's keyset cursor), or those matching a search by name, phone or
// email.
func (s *Server) patients(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Patients")
	if !ok {
		return
	}
	q := r.URL.Query()
	d := patientsData{Query: strings.TrimSpace(q.Get("q")), Paged: q.Get("cursor") != "", CanCreate: can(r, patientWriters)}
	d.Searched = d.Query != ""
	list, next, err := s.store.ListPatients(r.Context(), store.PatientFilter{Query: d.Query, Cursor: q.Get("cursor"), Limit: 50})
	if err != nil {
		if msg, status := formError(err); msg != "" {
			var se *store.Error
			if errors.As(err, &se) && se.Field == "cursor" {
				msg = "This page of the list is out of date. Start again from the first page."
			}
			s.renderError(w, r, status, msg)
			return
		}
		s.fail(w, r, err)
		return
	}
	d.Results = list
	_, d.Next = pageLinks("/patients", map[string]string{"q": d.Query}, q.Get("cursor"), next)
	v.Data = d
	s.render(w, r, http.StatusOK, "patients", v)
}

type chartData struct {
	Patient       store.Patient
	Appointments  []store.Appointment
	Invoices      []store.Invoice
	Prescriptions []store.Prescription
	Names         *names
	ShowInvoices  bool
	ShowRx        bool
	CanPrescribe  bool
	CanInvite     bool
	CanBook       bool
	CanBill       bool
	CanEdit       bool
	InviteCode    string
	InviteExpires time.Time
	Rx            rxForm
}

type rxForm struct {
	Drug, Strength, Form, Directions, Notes string
	Quantity, Refills                       int
	// Override is the dentist's reason to prescribe despite a recorded
	// allergy; NeedsReason shows its field, once the drug was refused
	// for one.
	Override    string
	NeedsReason bool
}

// chart opens a patient's chart (recorded in the audit log): alerts,
// allergies, appointments, invoices and prescriptions, each shown only to
// the roles that may read it. Another clinic's patient is the same 404 as
// a missing one.
func (s *Server) chart(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Patient")
	if !ok {
		return
	}
	d, err := s.chartData(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = d.Patient.GivenName + " " + d.Patient.FamilyName
	v.Data = d
	s.render(w, r, http.StatusOK, "chart", v)
}

func (s *Server) chartData(r *http.Request, id tenancy.ID) (*chartData, error) {
	ctx := r.Context()
	p, err := s.store.Patient(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &chartData{Patient: p, ShowInvoices: can(r, billingReaders), ShowRx: can(r, rxReaders), CanPrescribe: can(r, prescribers),
		CanInvite: can(r, portalInviters), CanBook: can(r, booking), CanBill: can(r, billingWriters),
		CanEdit: can(r, patientWriters), Rx: rxForm{Quantity: 1}}
	if d.Names, err = s.loadNames(ctx, false); err != nil {
		return nil, err
	}
	if d.Appointments, _, err = s.store.ListAppointments(ctx, store.AppointmentFilter{PatientID: &id, Limit: 200}); err != nil {
		return nil, err
	}
	if d.ShowInvoices {
		if d.Invoices, _, err = s.store.ListInvoices(ctx, store.InvoiceFilter{PatientID: id, Limit: 200}); err != nil {
			return nil, err
		}
	}
	if d.ShowRx {
		if d.Prescriptions, _, err = s.store.ListPrescriptions(ctx, store.PrescriptionFilter{PatientID: id, Limit: 200}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// prescribe writes a prescription for the patient (dentists only).
func (s *Server) prescribe(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Patient")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	f := rxForm{Drug: strings.TrimSpace(r.PostFormValue("drug")), Strength: strings.TrimSpace(r.PostFormValue("strength")),
		Form: strings.TrimSpace(r.PostFormValue("form")), Directions: strings.TrimSpace(r.PostFormValue("directions")),
		Notes: strings.TrimSpace(r.PostFormValue("notes")), Override: strings.TrimSpace(r.PostFormValue("allergy_override"))}
	f.NeedsReason = f.Override != ""
	f.Quantity, _ = strconv.Atoi(r.PostFormValue("quantity"))
	f.Refills, _ = strconv.Atoi(r.PostFormValue("refills"))
	in := store.PrescriptionInput{PatientID: id, Drug: &f.Drug, Strength: &f.Strength, Form: &f.Form, Directions: &f.Directions,
		Quantity: &f.Quantity, Refills: &f.Refills}
	if f.Notes != "" {
		in.Notes = &f.Notes
	}
	if f.Override != "" {
		in.AllergyOverride = &f.Override
	}
	if _, err := s.store.CreatePrescription(r.Context(), in); err != nil {
		var se *store.Error
		if errors.As(err, &se) && se.Code == "allergy" {
			f.NeedsReason = true // the form asks for the reason now
		}
		if msg, status := formError(err); msg != "" {
			d, derr := s.chartData(r, id)
			if derr != nil {
				s.fail(w, r, derr)
				return
			}
			d.Rx = f
			v.Error, v.Data, v.Title = msg, d, d.Patient.GivenName+" "+d.Patient.FamilyName
			s.render(w, r, status, "chart", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/patients/"+id.String()+"?done=prescribed#prescriptions", http.StatusSeeOther)
}

// portalInvite makes a portal invite code and shows it once, on the chart.
func (s *Server) portalInvite(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Patient")
	if !ok {
		return
	}
	inv, err := s.store.CreatePortalInvite(r.Context(), id)
	if err != nil {
		if msg, status := formError(err); msg != "" {
			s.renderError(w, r, status, msg)
			return
		}
		s.fail(w, r, err)
		return
	}
	d, err := s.chartData(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.InviteCode, d.InviteExpires = inv.Code, inv.ExpiresAt
	v.Notice, v.Data, v.Title = notices["invite"], d, d.Patient.GivenName+" "+d.Patient.FamilyName
	s.render(w, r, http.StatusOK, "chart", v)
}
