package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/impersonation"
)

// whoAdmins is the "who" filter's choice of the platform admins'
// impersonations.
const whoAdmins = "admins"

// auditPageSize is the number of entries a page of the audit log shows.
const auditPageSize = 50

type auditData struct {
	Rows   []auditRow
	Grants []auditRow // the latest impersonations started
	Staff  []store.StaffMember
	Kinds  []auditKind
	Admins string // the "who" value of the platform admins' entries
	// The filters as typed: a staff member's id, a kind, two dates.
	Who, Kind, From, To string
	Next, First         string
}

// auditRow is one entry of the audit log in words: no id is shown.
type auditRow struct {
	At           time.Time
	Who          string
	Impersonated bool
	What         string
	Reason       string
	PatientID    *tenancy.ID // the chart the entry is about, when the owner may see it
	Record       string      // the patient's name, else the kind of record
	Outcome      string
}

// auditLog is the owner's audit log, newest first, in words: who (the
// staff member's name; for an impersonation the admin's name, "Pat Admin
// (platform admin)", from auth.clinic_impersonators, else "platform
// admin"), what (actionWords), which record (the
// patient's name), when (the clinic's time), with filters by person, kind
// of action and date range, a page at a time.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Audit log")
	if !ok {
		return
	}
	q := r.URL.Query()
	d := auditData{Kinds: auditKinds, Admins: whoAdmins, Who: q.Get("who"), Kind: q.Get("kind"), From: q.Get("from"), To: q.Get("to")}
	staff, err := s.store.ListStaff(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Staff = staff
	f := store.AuditFilter{Cursor: q.Get("cursor"), Limit: auditPageSize}
	refuse := func(msg string) {
		v.Error, v.Data = msg, d
		s.render(w, r, http.StatusUnprocessableEntity, "audit", v)
	}
	// "admins" is every platform admin's impersonation, whose admin the
	// clinic's tables do not name; else a staff member's id.
	if d.Who == whoAdmins {
		f.Impersonated = true
	} else if d.Who != "" {
		id, err := tenancy.ParseID(d.Who)
		if err != nil {
			refuse("Choose a staff member from the list.")
			return
		}
		f.Actor = id
	}
	if d.Kind != "" {
		if f.Actions, f.Routes = actionsOfKind(d.Kind); f.Actions == nil {
			refuse("Choose a kind of action from the list.")
			return
		}
	}
	loc := v.Session.loc
	for _, b := range []struct {
		text string
		dst  *time.Time
		next int
	}{{d.From, &f.From, 0}, {d.To, &f.To, 1}} {
		if b.text == "" {
			continue
		}
		day, err := time.ParseInLocation(time.DateOnly, b.text, loc)
		if err != nil {
			refuse("Type the dates as year-month-day, such as 2026-03-14.")
			return
		}
		*b.dst = day.AddDate(0, 0, b.next) // "to" includes its whole day
	}
	entries, next, err := s.store.AuditEntries(r.Context(), f)
	if err != nil {
		if msg, _ := formError(err); msg != "" {
			refuse(msg)
			return
		}
		s.fail(w, r, err)
		return
	}
	for _, e := range entries {
		d.Rows = append(d.Rows, auditRowOf(e))
	}
	if f.Cursor == "" && d.Who == "" && d.Kind == "" && d.From == "" && d.To == "" {
		grants, _, err := s.store.AuditEntries(r.Context(), store.AuditFilter{Actions: []string{impersonation.ActionStarted}, Limit: 20})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, e := range grants {
			d.Grants = append(d.Grants, auditRowOf(e))
		}
	}
	d.First, d.Next = pageLinks("/audit", map[string]string{"who": d.Who, "kind": d.Kind, "from": d.From, "to": d.To}, f.Cursor, next)
	v.Data = d
	s.render(w, r, http.StatusOK, "audit", v)
}

// auditRowOf puts one entry in words.
func auditRowOf(e store.AuditEntry) auditRow {
	row := auditRow{At: e.At, Reason: e.Reason, Outcome: e.Outcome, PatientID: e.PatientID,
		Impersonated: e.Impersonator != nil || e.Grant != nil}
	switch {
	case row.Impersonated && e.ImpersonatorName != "":
		row.Who = e.ImpersonatorName + " (platform admin)"
	case row.Impersonated:
		row.Who = "platform admin"
	case e.ActorName != "" && e.ActorKind == "patient":
		row.Who = e.ActorName + " (patient, in the portal)"
	case e.ActorName != "":
		row.Who = e.ActorName
	case e.ActorKind == "staff":
		row.Who = "former staff member"
	case e.ActorKind == "platform_admin":
		row.Who = "platform admin"
	case e.ActorKind == "patient":
		row.Who = "a patient, in the portal"
	default:
		row.Who = "the system"
	}
	patient := "a patient"
	if e.PatientName != "" {
		patient = e.PatientName
	}
	member := "a staff member"
	if e.StaffName != "" {
		member = e.StaffName
	}
	if w, ok := wordsOf(e.Action); ok {
		row.What = strings.NewReplacer("{patient}", patient, "{staff}", member).Replace(w.Words)
	} else {
		row.What = "An action this page has no words for"
	}
	switch {
	case e.PatientName != "":
		row.Record = e.PatientName
	case e.ResourceType != "":
		row.Record = label(e.ResourceType)
	}
	return row
}
