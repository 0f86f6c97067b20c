package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// patientWriters register and edit patients: the roles the API's POST and
// PATCH /api/v1/patients admit.
var patientWriters = access.Clinical

// patientForm is the register and edit form of a patient: the fields as
// typed, and the refusal of the last attempt beside the field it is about.
type patientForm struct {
	ID                                 tenancy.ID // zero for a new patient
	GivenName, FamilyName, DateOfBirth string
	Sex, Phone, Email, Address, Status string
	Alerts, Allergies                  string // one per line
	Errors                             map[string]string
	Namesakes                          []store.Patient // patients with the same name and date of birth
	AllowDuplicate                     bool
	Sexes, Statuses                    []string
}

// Identity is a digest of the name and date of birth as typed: a "register
// anyway" carried through a re-shown form (hidden, as allow_duplicate_for)
// holds only while they are the same, so that it never lets a different
// namesake through unwarned.
func (f *patientForm) Identity() string {
	sum := sha256.Sum256([]byte(f.GivenName + "\x00" + f.FamilyName + "\x00" + f.DateOfBirth))
	return hex.EncodeToString(sum[:])
}

// New reports whether the form registers a patient.
func (f *patientForm) New() bool { return f.ID.IsZero() }

func newPatientForm() *patientForm {
	return &patientForm{Sex: "unknown", Status: "active", Errors: map[string]string{},
		Sexes: store.Sexes(), Statuses: store.PatientStatuses()}
}

func patientFormOf(p store.Patient) *patientForm {
	f := newPatientForm()
	f.ID, f.GivenName, f.FamilyName, f.Sex, f.Phone, f.Email, f.Address, f.Status =
		p.ID, p.GivenName, p.FamilyName, p.Sex, p.Phone, p.Email, p.Address, p.Status
	if p.DateOfBirth != nil {
		f.DateOfBirth = p.DateOfBirth.Format("2006-01-02")
	}
	f.Alerts, f.Allergies = strings.Join(p.MedicalAlerts, "\n"), strings.Join(p.Allergies, "\n")
	return f
}

// lines splits a textarea into its non-empty, trimmed lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readPatientForm reads the posted form into f and the store's input. A
// date of birth that is not a date is refused here (the store never sees
// it); every other rule is the store's.
func readPatientForm(r *http.Request, f *patientForm) (store.PatientInput, bool) {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	f.GivenName, f.FamilyName, f.DateOfBirth, f.Sex = v("given_name"), v("family_name"), v("date_of_birth"), v("sex")
	f.Phone, f.Email, f.Address = v("phone"), v("email"), v("address")
	f.Alerts, f.Allergies = r.PostFormValue("medical_alerts"), r.PostFormValue("allergies")
	f.AllowDuplicate = r.PostFormValue("allow_duplicate") == "on" ||
		r.PostFormValue("allow_duplicate_for") != "" && r.PostFormValue("allow_duplicate_for") == f.Identity()
	alerts, allergies := lines(f.Alerts), lines(f.Allergies)
	in := store.PatientInput{GivenName: &f.GivenName, FamilyName: &f.FamilyName, Sex: &f.Sex, Phone: &f.Phone,
		Email: &f.Email, Address: &f.Address, MedicalAlerts: &alerts, Allergies: &allergies, AllowDuplicate: f.AllowDuplicate}
	if !f.New() {
		f.Status = v("status")
		in.Status = &f.Status
	}
	if f.DateOfBirth != "" {
		d, err := store.ParseDate(f.DateOfBirth)
		if err != nil {
			f.Errors["date_of_birth"] = "Enter the date of birth as a date, such as 1980-04-05."
			return in, false
		}
		in.DateOfBirth = &d
	}
	return in, true
}

// refusePatient re-renders the form with the store's refusal err beside its
// field (or the duplicate warning), and reports false when err is not the
// caller's to fix.
func (s *Server) refusePatient(w http.ResponseWriter, r *http.Request, v *view, f *patientForm, err error) bool {
	status := http.StatusUnprocessableEntity
	if err != nil {
		var se *store.Error
		msg, st := formError(err)
		if msg == "" || !errors.As(err, &se) {
			return false
		}
		status = st
		switch {
		case se.Code == store.DuplicatePatient:
			ids, _ := se.Detail.([]tenancy.ID)
			for _, id := range ids {
				// Listed, not opened: no chart is read, nothing audited.
				found, _, err := s.store.ListPatients(r.Context(), store.PatientFilter{ID: &id, Limit: 1})
				if err != nil {
					s.fail(w, r, err)
					return true
				}
				f.Namesakes = append(f.Namesakes, found...)
			}
			v.Error = "A patient with the same name and date of birth is already registered at this clinic. " +
				"Open their chart below, or tick “register anyway” if this is another person."
		case se.Field != "":
			f.Errors[se.Field] = msg
		default:
			v.Error = msg
		}
	}
	if v.Error == "" {
		for _, field := range []string{"given_name", "family_name", "date_of_birth", "sex", "phone", "email", "address", "status", "medical_alerts", "allergies"} {
			if msg, ok := f.Errors[field]; ok {
				v.Error = "The patient was not saved: " + msg
				break
			}
		}
	}
	v.Data = f
	s.render(w, r, status, "patient_form", v)
	return true
}

// newPatient shows the register form.
func (s *Server) newPatient(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "New patient")
	if !ok {
		return
	}
	v.Data = newPatientForm()
	s.render(w, r, http.StatusOK, "patient_form", v)
}

// createPatient registers a patient through the store, as POST
// /api/v1/patients does: the same rules, the same audit. A namesake (same
// name and date of birth) is registered only with "register anyway".
func (s *Server) createPatient(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "New patient")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	f := newPatientForm()
	in, ok := readPatientForm(r, f)
	if !ok {
		s.refusePatient(w, r, v, f, nil)
		return
	}
	p, err := s.store.CreatePatient(r.Context(), in)
	if err != nil {
		if !s.refusePatient(w, r, v, f, err) {
			s.fail(w, r, err)
		}
		return
	}
	http.Redirect(w, r, "/patients/"+p.ID.String()+"?done=registered", http.StatusSeeOther)
}

// editPatient shows the edit form of a patient of the caller's clinic
// (another clinic's patient is the same 404 as a missing one).
func (s *Server) editPatient(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Edit patient")
	if !ok {
		return
	}
	p, err := s.store.Patient(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = "Edit " + p.GivenName + " " + p.FamilyName
	v.Data = patientFormOf(p)
	s.render(w, r, http.StatusOK, "patient_form", v)
}

// updatePatient saves the edit form through the store, as PATCH
// /api/v1/patients/{id} does. Archiving is a status: the record stays.
func (s *Server) updatePatient(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Edit patient")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	f := newPatientForm()
	f.ID = id
	in, ok := readPatientForm(r, f)
	var err error
	if ok && in.DateOfBirth == nil && s.hasDOB(r, id) {
		// The store keeps a date of birth that is left out; the form
		// says so rather than keeping it silently.
		f.Errors["date_of_birth"] = "The date of birth cannot be removed. Correct it instead."
		ok = false
	}
	if ok {
		if _, err = s.store.UpdatePatient(r.Context(), id, in); err == nil {
			http.Redirect(w, r, "/patients/"+id.String()+"?done=patient", http.StatusSeeOther)
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, err)
			return
		}
	}
	// A refusal is shown only for a patient of the caller's clinic: for
	// another clinic's, as for a missing one, it is the one 404.
	found, _, lerr := s.store.ListPatients(r.Context(), store.PatientFilter{ID: &id, Limit: 1})
	switch {
	case lerr != nil:
		s.fail(w, r, lerr)
		return
	case len(found) == 0:
		s.renderError(w, r, http.StatusNotFound, "")
		return
	}
	if !s.refusePatient(w, r, v, f, err) {
		s.fail(w, r, err)
	}
}

// hasDOB reports whether patient id of the caller's clinic has a date of
// birth recorded (false also when there is no such patient: the update
// then answers 404).
func (s *Server) hasDOB(r *http.Request, id tenancy.ID) bool {
	found, _, err := s.store.ListPatients(r.Context(), store.PatientFilter{ID: &id, Limit: 1})
	return err == nil && len(found) == 1 && found[0].DateOfBirth != nil
}

// patientPicker is the patient step of the booking and invoice forms: a
// search (GET, with q) whose active matches are radio choices, each with
// the date of birth that tells namesakes apart. It never lists the whole
// clinic.
type patientPicker struct {
	Action   string // the page the search reloads
	Query    string
	Searched bool
	Choices  []store.Patient
	Selected string
	More     bool
	// Keep are the page's other query values the search carries along
	// (the slot clicked on the schedule).
	Keep []keptValue
}

type keptValue struct{ Name, Value string }

// bookingKeep are the booking form's values that its patient search
// carries along: the slot clicked on the schedule, the dentist.
var bookingKeep = []string{"chair", "date", "time", "dentist"}

// pickerSize is how many matches the picker offers.
const pickerSize = 20

// patientPicker builds the picker of page action for the request's
// search (q of the search form, or patient_q posted with the page's form)
// and the patient already chosen (an id, or ""), keeping the named values
// of the request (query or posted form) in the search.
func (s *Server) patientPicker(r *http.Request, action, selected string, keep ...string) (*patientPicker, error) {
	q := r.FormValue("q")
	if q == "" {
		q = r.FormValue("patient_q")
	}
	pk := &patientPicker{Action: action, Query: strings.TrimSpace(q), Selected: selected}
	for _, k := range keep {
		if val := r.FormValue(k); val != "" {
			pk.Keep = append(pk.Keep, keptValue{k, val})
		}
	}
	if id, err := tenancy.ParseID(selected); err == nil {
		list, _, err := s.store.ListPatients(r.Context(), store.PatientFilter{ID: &id, Status: "active", Limit: 1})
		if err != nil {
			return nil, err
		}
		pk.Choices = list
	}
	if pk.Query != "" {
		pk.Searched = true
		list, next, err := s.store.ListPatients(r.Context(), store.PatientFilter{Query: pk.Query, Status: "active", Limit: pickerSize})
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			if p.ID.String() != selected {
				pk.Choices = append(pk.Choices, p)
			}
		}
		pk.More = next != ""
	}
	return pk, nil
}
