package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticHandler serves the embedded CSS, JS and icons under /static/.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

type pageTemplate = *template.Template

var funcs = template.FuncMap{
	"money": money,
	"label": label,
	"join":  strings.Join,
	"date":  func(t time.Time) string { return t.Format("Mon 2 Jan 2006") },
	"clock": func(t time.Time) string { return t.Format("15:04") },
	"local": local,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"amount": func(minor int64) string { return fmt.Sprintf("%d.%02d", minor/100, minor%100) },
	"list":   func(v ...int) []int { return v },
	"deref":  func(id *tenancy.ID) tenancy.ID { return *id },
	// passwordMin and passwordMax are the server's password rule
	// (passwords.MinLength, MaxLength), for the forms' hints and
	// minlength: the browser asks for what the server will accept.
	"passwordMin": func() int { return passwords.MinLength },
	"passwordMax": func() int { return passwords.MaxLength },
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]pageTemplate, error) {
	// partial_*.html hold templates that several pages include.
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partial_*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]pageTemplate{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "partial_") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// view is what every page template gets.
type view struct {
	Title   string
	Session *sessionView // nil when signed out
	CSRF    string       // the token every form of the page carries
	Nav     []navLink
	Notice  string // a success message
	Error   string // a refusal in plain words
	Data    any
	Now     time.Time
	// Clinics are the other clinics whose portal sessions this browser
	// holds, for the portal's clinic switcher.
	Clinics []clinicOption
}

// local formats t as a date and time in the clinic's time zone, with the
// zone's abbreviation ("Wed 2 Dec 2026, 08:30 CST"): the one way a page
// shows an instant, called as {{local $ .ReceivedAt}}. The zone is the
// session's clinic's, read once per request by start; a page without a
// clinic (the platform console, an error page) shows UTC.
func local(v *view, t time.Time) string {
	loc := time.UTC
	if v != nil && v.Session != nil && v.Session.loc != nil {
		loc = v.Session.loc
	}
	return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")
}

type navLink struct {
	Href, Label string
	Current     bool
}

// sessionView is what the verified token says, for the layout, the banner
// and the Session page.
type sessionView struct {
	Kind        string
	KindLabel   string
	Subject     tenancy.ID
	Roles       []string
	TokenType   string
	ExpiresAt   time.Time
	ExpiresIn   string // "7 h 59 min"
	HasClinic   bool
	ClinicID    tenancy.ID
	ClinicName  string
	TimeZone    string
	Currency    string
	Impersonate *impersonationView
	loc         *time.Location
}

type impersonationView struct {
	GrantID     tenancy.ID
	Admin       tenancy.ID
	MinutesLeft int
	ExpiresAt   time.Time
}

// start builds the view of a signed-in page: the session from the verified
// token, the clinic from the database (under the token's tenant), the
// navigation for the principal's roles and the CSRF token for its forms.
// On failure it has answered and returns false.
func (s *Server) start(w http.ResponseWriter, r *http.Request, title string) (*view, bool) {
	tok, ok := jwtctx.TokenFromContext(r.Context())
	if !ok {
		s.renderError(w, r, http.StatusUnauthorized, "Please sign in.")
		return nil, false
	}
	p := tok.Principal
	sv := &sessionView{
		Kind: p.Kind.String(), KindLabel: kindLabel(p), Subject: p.Subject, Roles: p.Roles,
		TokenType: "session", ExpiresAt: tok.ExpiresAt.UTC(), loc: time.UTC,
	}
	if tok.Type == jwtctx.ImpersonationToken {
		sv.TokenType = "impersonation"
	}
	if left := tok.ExpiresAt.Sub(s.now()).Round(time.Minute); left >= time.Hour {
		sv.ExpiresIn = fmt.Sprintf("%d h %d min", int(left.Hours()), int(left.Minutes())%60)
	} else {
		sv.ExpiresIn = fmt.Sprintf("%d min", int(left.Minutes()))
	}
	if p.HasTenant() {
		c, err := s.store.CurrentClinic(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return nil, false
		}
		sv.HasClinic, sv.ClinicID, sv.ClinicName, sv.TimeZone, sv.Currency = true, c.ID, c.Name, c.TimeZone, c.Currency
		// A clinic's page shows its times in its zone or not at all: a
		// zone that cannot be loaded is an error, never a quiet UTC.
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			s.fail(w, r, fmt.Errorf("web: the clinic's time zone %q: %w", c.TimeZone, err))
			return nil, false
		}
		sv.loc = loc
	}
	if p.Impersonation != nil {
		left := tok.ExpiresAt.Sub(s.now())
		sv.Impersonate = &impersonationView{GrantID: p.Impersonation.GrantID, Admin: p.Impersonation.Admin,
			MinutesLeft: int((left + time.Minute - 1) / time.Minute), ExpiresAt: tok.ExpiresAt.UTC()}
	}
	v := &view{Title: title, Session: sv, Now: s.now()}
	v.CSRF = s.csrfToken(w, r, tok)
	v.Nav = s.nav(r)
	for i := range v.Nav {
		v.Nav[i].Current = r.URL.Path == v.Nav[i].Href || strings.HasPrefix(r.URL.Path, v.Nav[i].Href+"/")
	}
	if msg, ok := notices[r.URL.Query().Get("done")]; ok {
		v.Notice = msg
	}
	if p.Kind == kinds.Patient {
		v.Clinics = s.switchOptions(r, p.Tenant)
	}
	return v, true
}

// notices are the fixed success messages a redirect after a form names in
// ?done=; no data travels in the URL.
var notices = map[string]string{
	"booked": "The appointment is booked.", "updated": "The appointment is updated.",
	"invoice": "The invoice is saved.", "issued": "The invoice is issued.", "paid": "The payment is recorded.",
	"voided": "The invoice is void.", "prescribed": "The prescription is saved.", "staff": "The staff list is updated.",
	"settings": "The settings are saved.", "chairs": "The chairs are saved.", "fees": "The fee schedule is saved.",
	"requested": "Your request is sent. The clinic will confirm it.", "contact": "Your contact details are saved.",
	"clinic": "The clinic is created.", "suspended": "The clinic is suspended; its sessions have ended.",
	"ended": "The impersonation has ended.", "enrolled": "Your portal account is ready. Sign in below.",
	"invite":      "The portal invite code is shown below, once.",
	"registered":  "The patient is registered.",
	"patient":     "The patient's details are saved.",
	"export":      "The export is being prepared; it will be listed here to download.",
	"offboarding": "The clinic is suspended; its records are being exported, then erased. The erasure record will be listed below.",
}

// nav is the navigation for the request's principal.
func (s *Server) nav(r *http.Request) []navLink {
	p, _ := tenancy.FromContext(r.Context())
	var links []navLink
	add := func(allow Allow, href, label string) {
		if can(r, allow) {
			links = append(links, navLink{Href: href, Label: label})
		}
	}
	switch p.Kind {
	case kinds.Patient:
		add(portalPatient, "/portal", "Appointments")
		add(portalPatient, "/portal/request", "Request an appointment")
		add(portalPatient, "/portal/invoices", "Invoices")
		add(portalPatient, "/portal/prescriptions", "Prescriptions")
		add(portalPatient, "/portal/contact", "Contact details")
	case kinds.PlatformAdmin:
		add(console, "/admin", "Clinics")
		fallthrough
	default:
		add(anyStaff, "/schedule", "Schedule")
		add(booking, "/requests", "Requests")
		add(anyStaff, "/patients", "Patients")
		add(billingReaders, "/invoices", "Invoices")
		add(anyStaff, "/staff", "Staff")
		add(anyStaff, "/settings", "Settings")
		add(ownerOnly, "/audit", "Audit log")
	}
	links = append(links, navLink{Href: "/session", Label: "Session"})
	return links
}

// render writes page name with v.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := s.pages[name]
	if !ok {
		s.log.ErrorContext(r.Context(), "no such page template", "name", name)
		status, t = http.StatusInternalServerError, s.pages["error"]
		v = &view{Title: "Something went wrong", Error: "Something went wrong on our side."}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.ErrorContext(r.Context(), "rendering a page failed", "page", name, "err", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError answers with the error page. msg empty means the status's
// standard words; 404 has one fixed text, the same for another clinic's
// record as for a missing one.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	title := http.StatusText(status)
	if status == http.StatusNotFound {
		title, msg = "Not found", "There is no such page or record."
	}
	v := &view{Title: title, Error: msg, Now: s.now()}
	// Signed-in navigation, when the request passed the middleware.
	if tok, ok := jwtctx.TokenFromContext(r.Context()); ok && status != http.StatusNotFound {
		v.Session = &sessionView{Kind: tok.Principal.Kind.String(), KindLabel: kindLabel(tok.Principal)}
		v.Nav = s.nav(r)
		v.CSRF = s.csrfToken(w, r, tok)
	}
	s.render(w, r, status, "error", v)
}

// fail answers a store error with a page: 404 for a missing (or another
// clinic's) record, 403 without a clinic, else a logged 500 that says
// nothing of the cause.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *store.Error
	switch {
	case errors.As(err, &se) && errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "")
	case errors.As(err, &se):
		s.renderError(w, r, http.StatusUnprocessableEntity, se.Msg)
	case errors.Is(err, tenancy.ErrNoTenant), errors.Is(err, store.ErrNotPlatformAdmin):
		s.renderError(w, r, http.StatusForbidden, "This page needs another kind of session.")
	case r.Context().Err() != nil:
		s.renderError(w, r, http.StatusServiceUnavailable, "The request took too long. Try again.")
	default:
		rid := ""
		if p, ok := tenancy.FromContext(r.Context()); ok {
			rid = p.RequestID
		}
		s.log.ErrorContext(r.Context(), "web request failed", "err", err, "request_id", rid)
		s.renderError(w, r, http.StatusInternalServerError, "Something went wrong on our side.")
	}
}

// formError returns the words to show for a refused change, or "" when
// err is not the caller's to fix (then fail answers it).
func formError(err error) (string, int) {
	var se *store.Error
	switch {
	case errors.As(err, &se) && errors.Is(err, store.ErrConflict):
		return inWords(se.Msg), http.StatusConflict
	case errors.As(err, &se) && errors.Is(err, store.ErrInvalid):
		return inWords(se.Msg), http.StatusUnprocessableEntity
	case errors.As(err, &se) && errors.Is(err, store.ErrTooSoon):
		return inWords(se.Msg), http.StatusTooManyRequests
	}
	return "", 0
}

func kindLabel(p tenancy.Principal) string {
	switch {
	case p.Kind == kinds.Patient:
		return "Patient"
	case p.Kind == kinds.PlatformAdmin && p.Impersonation != nil:
		return "Platform admin (impersonating)"
	case p.Kind == kinds.PlatformAdmin:
		return "Platform admin"
	}
	return "Staff"
}

// money formats minor units of a two-decimal currency.
func money(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	sym := map[string]string{"GBP": "£", "USD": "$", "EUR": "€"}[currency]
	if sym == "" {
		return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, currency)
	}
	return fmt.Sprintf("%s%s%d.%02d", sign, sym, minor/100, minor%100)
}

// label turns a code such as "no_show" or "front_desk" into words.
func label(s string) string {
	switch s {
	case "no_show":
		return "No-show"
	case "partly_paid":
		return "Partly paid"
	}
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
