package web

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

func (s *Server) settingsRoutes() {
	s.handle("GET /staff", anyStaff, s.staff)
	s.handle("POST /staff", clinicAdmin, s.createStaff)
	s.handle("POST /staff/{id}", clinicAdmin, s.updateStaff)
	s.handle("GET /settings", anyStaff, s.settings)
	s.handle("POST /settings", clinicAdmin, s.saveSettings)
	s.handle("POST /settings/chairs", clinicAdmin, s.addChair)
	s.handle("POST /settings/chairs/{id}", clinicAdmin, s.updateChair)
	s.handle("POST /settings/fees", clinicAdmin, s.saveFees)
	s.handle("POST /settings/exports", ownerOnly, s.requestExport)
	s.handle("GET /settings/exports/{id}", ownerOnly, s.downloadExport)
	s.handle("GET /audit", ownerOnly, s.auditLog)
}

// staffRoles are the roles an owner can give.
var staffRoles = []string{"owner", "dentist", "hygienist", "front_desk", "billing"}

type staffData struct {
	Staff    []store.StaffMember
	Roles    []string
	CanEdit  bool
	New      store.StaffInput
	NewRoles []string
}

func (s *Server) staffPage(w http.ResponseWriter, r *http.Request, v *view, status int, d *staffData) {
	list, err := s.store.ListStaff(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Staff, d.Roles, d.CanEdit = list, staffRoles, can(r, clinicAdmin)
	v.Data = d
	s.render(w, r, status, "staff", v)
}

func (s *Server) staff(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Staff")
	if !ok {
		return
	}
	s.staffPage(w, r, v, http.StatusOK, &staffData{})
}

func (s *Server) createStaff(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Staff")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	in := store.StaffInput{Email: strings.TrimSpace(r.PostFormValue("email")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Roles: r.PostForm["roles"], Password: r.PostFormValue("password")}
	if _, err := s.store.CreateStaff(r.Context(), in); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			in.Password = ""
			s.staffPage(w, r, v, status, &staffData{New: in, NewRoles: in.Roles})
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/staff?done=staff", http.StatusSeeOther)
}

// updateStaff changes a member's roles, or disables or enables them.
func (s *Server) updateStaff(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Staff")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	roles := r.PostForm["roles"]
	disabled := r.PostFormValue("disabled") == "on"
	if _, err := s.store.UpdateStaff(r.Context(), id, store.StaffUpdate{Roles: &roles, Disabled: &disabled}); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.staffPage(w, r, v, status, &staffData{})
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/staff?done=staff", http.StatusSeeOther)
}

var weekdays = []struct{ Key, Name string }{
	{"mon", "Monday"}, {"tue", "Tuesday"}, {"wed", "Wednesday"}, {"thu", "Thursday"}, {"fri", "Friday"}, {"sat", "Saturday"}, {"sun", "Sunday"},
}

type dayHours struct {
	Key, Name, Open, Close string
	Extra                  int // further ranges kept as they are
}

type settingsData struct {
	Settings store.Settings
	Hours    []dayHours
	Chairs   []store.Operatory
	Fees     []store.Fee
	Blank    []int
	CanEdit  bool
	Exports  []store.Export // nil unless the caller is an owner
	IsOwner  bool
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, v *view, status int) {
	ctx := r.Context()
	st, err := s.store.Settings(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := &settingsData{Settings: st, CanEdit: can(r, clinicAdmin), Blank: []int{0, 1, 2}}
	for _, wd := range weekdays {
		h := dayHours{Key: wd.Key, Name: wd.Name}
		if ranges := st.OpeningHours[wd.Key]; len(ranges) > 0 && len(ranges[0]) == 2 {
			h.Open, h.Close, h.Extra = ranges[0][0], ranges[0][1], len(ranges)-1
		}
		d.Hours = append(d.Hours, h)
	}
	if d.Chairs, err = s.store.ListOperatories(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Fees, err = s.store.Fees(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.IsOwner = can(r, ownerOnly); d.IsOwner {
		if d.Exports, err = s.store.Exports(ctx); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	v.Data = d
	s.render(w, r, status, "settings", v)
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Settings")
	if !ok {
		return
	}
	s.settingsPage(w, r, v, http.StatusOK)
}

// settingsChange runs one settings change and shows the page again, with
// the refusal in words when there is one.
func (s *Server) settingsChange(w http.ResponseWriter, r *http.Request, done string, act func() error) {
	v, ok := s.start(w, r, "Settings")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	if err := act(); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.settingsPage(w, r, v, status)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings?done="+done, http.StatusSeeOther)
}

// saveSettings saves the time zone, currency and the first opening range
// of each day (a day without both times is closed; further ranges stay).
func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request) {
	s.settingsChange(w, r, "settings", func() error {
		cur, err := s.store.Settings(r.Context())
		if err != nil {
			return err
		}
		hours := store.OpeningHours{}
		for _, wd := range weekdays {
			open, closeAt := strings.TrimSpace(r.PostFormValue("open_"+wd.Key)), strings.TrimSpace(r.PostFormValue("close_"+wd.Key))
			ranges := [][]string{}
			if open != "" && closeAt != "" {
				ranges = append(ranges, []string{open, closeAt})
			} else if open != "" || closeAt != "" {
				return &store.Error{Kind: store.ErrInvalid, Code: "invalid", Msg: wd.Name + " needs both an opening and a closing time, or neither."}
			}
			if old := cur.OpeningHours[wd.Key]; len(old) > 1 {
				ranges = append(ranges, old[1:]...)
			}
			hours[wd.Key] = ranges
		}
		tz, cc := strings.TrimSpace(r.PostFormValue("time_zone")), strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency")))
		in := store.SettingsInput{TimeZone: &tz, Currency: &cc, OpeningHours: &hours}
		if address, ok := r.PostForm["address"]; ok {
			in.Address = &address[0]
		}
		if v := strings.TrimSpace(r.PostFormValue("cancel_notice_hours")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return &store.Error{Kind: store.ErrInvalid, Code: "invalid", Msg: "The cancellation notice is a whole number of hours."}
			}
			in.CancelNoticeHours = &n
		}
		_, err = s.store.UpdateSettings(r.Context(), in)
		return err
	})
}

func (s *Server) addChair(w http.ResponseWriter, r *http.Request) {
	s.settingsChange(w, r, "chairs", func() error {
		name := r.PostFormValue("name")
		_, err := s.store.CreateOperatory(r.Context(), store.OperatoryInput{Name: &name})
		return err
	})
}

func (s *Server) updateChair(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	s.settingsChange(w, r, "chairs", func() error {
		name, hidden := r.PostFormValue("name"), r.PostFormValue("hidden") == "on"
		_, err := s.store.UpdateOperatory(r.Context(), id, store.OperatoryInput{Name: &name, Hidden: &hidden})
		return err
	})
}

// saveFees replaces the fee schedule with the rows of the form (code,
// description, price in major units); rows without a code are dropped.
func (s *Server) saveFees(w http.ResponseWriter, r *http.Request) {
	s.settingsChange(w, r, "fees", func() error {
		codes, descs, prices := r.PostForm["code"], r.PostForm["description"], r.PostForm["price"]
		if len(descs) != len(codes) || len(prices) != len(codes) {
			return &store.Error{Kind: store.ErrInvalid, Code: "invalid", Msg: "The fee schedule form is incomplete."}
		}
		var list []store.FeeInput
		for i, code := range codes {
			code = strings.TrimSpace(code)
			if code == "" {
				continue
			}
			minor, ok := parseMoney(prices[i])
			if !ok {
				return &store.Error{Kind: store.ErrInvalid, Code: "invalid", Msg: "The price of " + code + " is not a number such as 45.00."}
			}
			list = append(list, store.FeeInput{Code: code, Description: strings.TrimSpace(descs[i]), PriceMinor: minor})
		}
		_, err := s.store.ReplaceFees(r.Context(), list)
		return err
	})
}

// requestExport asks for an export of the clinic's records, made in the
// background; the Settings page lists it until it can be downloaded.
func (s *Server) requestExport(w http.ResponseWriter, r *http.Request) {
	s.settingsChange(w, r, "export", func() error {
		_, err := s.store.RequestExport(r.Context())
		return err
	})
}

// downloadExport sends a ready export's archive, a gzipped tar.
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request) {
	id, err := tenancy.ParseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, &store.Error{Kind: store.ErrNotFound, Code: "not_found", Msg: "not found"})
		return
	}
	var buf bytes.Buffer
	if err := s.store.WriteExportArchive(r.Context(), id, &buf); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", `attachment; filename="clinic-export-`+id.String()+`.tar.gz"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = buf.WriteTo(w)
}
