package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/signin"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

func (s *Server) authRoutes() {
	s.handle("GET /signin", publicPage, s.signInPage(false))
	s.handle("POST /signin", publicPage, s.signIn(false))
	s.handle("GET /portal/signin", publicPage, s.signInPage(true))
	s.handle("POST /portal/signin", publicPage, s.signIn(true))
	s.handle("GET /portal/enrol", publicPage, s.enrolPage)
	s.handle("POST /portal/enrol", publicPage, s.enrol)
	s.handle("POST /signout", signedIn, s.signOut)
	s.handle("GET /session", signedIn, s.sessionPage)
}

// maxForm bounds form bodies.
const maxForm = 64 << 10

// parseForm reads a URL-encoded form body of at most maxForm bytes.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	return r.ParseForm() == nil
}

// readForm parses the posted form, or answers 400 with a page saying so.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) bool {
	if !parseForm(w, r) {
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

// pathID is the {id} of the route, or a 404 page: a malformed id is as
// missing as another clinic's.
func (s *Server) pathID(w http.ResponseWriter, r *http.Request) (tenancy.ID, bool) {
	id, err := tenancy.ParseID(r.PathValue("id"))
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "")
		return tenancy.ID{}, false
	}
	return id, true
}

// setCookie sets one of the app's cookies: HttpOnly (no script reads any
// of them; forms carry the CSRF token in a hidden field), SameSite=Strict,
// Path "/", Secure (and __Host- named) when the site is served over HTTPS.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// startSession puts token in the session cookie with a new CSRF token bound
// to it. The token was issued a moment ago by this app.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, token string) (jwtctx.Token, error) {
	tok, err := s.tokens.Verify(r.Context(), token, jwtctx.AnyToken)
	if err != nil {
		return jwtctx.Token{}, err
	}
	csrf, err := s.auth.CSRFToken(tok)
	if err != nil {
		return jwtctx.Token{}, err
	}
	s.setCookie(w, s.cookies.session, token, tok.ExpiresAt)
	s.setCookie(w, s.cookies.csrf, csrf, tok.ExpiresAt)
	return tok, nil
}

func (s *Server) clearCookies(w http.ResponseWriter) {
	for _, name := range []string{s.cookies.session, s.cookies.csrf, s.cookies.admin} {
		s.setCookie(w, name, "", time.Time{})
	}
}

// csrfToken returns the CSRF token for the forms of a page: the session's
// cookie, or a new one bound to tok when the cookie is missing.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request, tok jwtctx.Token) string {
	if c := r.CookiesNamed(s.cookies.csrf); len(c) == 1 && c[0].Value != "" {
		return c[0].Value
	}
	v, err := s.auth.CSRFToken(tok)
	if err != nil {
		return ""
	}
	s.setCookie(w, s.cookies.csrf, v, tok.ExpiresAt)
	return v
}

// sessionEnded answers a request whose session was refused (expired,
// revoked, its clinic suspended, its impersonation over). An admin whose
// impersonation ended gets their own session back; everyone else signs in
// again.
func (s *Server) sessionEnded(w http.ResponseWriter, r *http.Request) {
	if c := r.CookiesNamed(s.cookies.admin); len(c) == 1 {
		if tok, err := s.tokens.Verify(r.Context(), c[0].Value, jwtctx.SessionToken); err == nil && isConsole(tok.Principal) {
			if _, err := s.startSession(w, r, c[0].Value); err == nil {
				s.setCookie(w, s.cookies.admin, "", time.Time{})
				http.Redirect(w, r, "/admin?done=ended", http.StatusSeeOther)
				return
			}
		}
	}
	s.clearCookies(w)
	to := "/signin"
	if strings.HasPrefix(r.URL.Path, "/portal") {
		to = "/portal/signin"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func isConsole(p tenancy.Principal) bool {
	return p.Kind == kinds.PlatformAdmin && !p.HasTenant() && p.Impersonation == nil
}

// home sends a visitor to their start page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	to := "/signin"
	if c := r.CookiesNamed(s.cookies.session); len(c) == 1 {
		if tok, err := s.tokens.Verify(r.Context(), c[0].Value, jwtctx.AnyToken); err == nil {
			to = startPage(tok.Principal)
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func startPage(p tenancy.Principal) string {
	switch {
	case p.Kind == kinds.Patient:
		return "/portal"
	case isConsole(p):
		return "/admin"
	}
	return "/schedule"
}

type signInData struct {
	Portal  bool
	Email   string
	Choices []signin.Choice
}

func (s *Server) signInPage(portal bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{Title: "Sign in", Data: signInData{Portal: portal}, Now: s.now()}
		if portal {
			v.Title = "Patient portal: sign in"
		}
		if msg, ok := notices[r.URL.Query().Get("done")]; ok {
			v.Notice = msg
		}
		s.render(w, r, http.StatusOK, "signin", v)
	}
}

// signIn signs staff and platform admins in (or, for the portal,
// patients) through the sign-in service, and puts the session token in
// the HttpOnly cookie.
func (s *Server) signIn(portal bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.readForm(w, r) {
			return
		}
		data := signInData{Portal: portal, Email: strings.TrimSpace(r.PostFormValue("email"))}
		v := &view{Title: "Sign in", Data: &data, Now: s.now()}
		if portal {
			v.Title = "Patient portal: sign in"
		}
		req := signin.Request{Email: data.Email, Password: r.PostFormValue("password"), Portal: portal, ClientIP: signin.ClientIP(r)}
		if c := r.PostFormValue("clinic"); c != "" {
			id, err := tenancy.ParseID(c)
			if err != nil {
				v.Error = "Choose one of the clinics."
				s.render(w, r, http.StatusUnprocessableEntity, "signin", v)
				return
			}
			req.Clinic = id
		}
		res, err := s.signin.SignIn(r.Context(), req)
		var rl *signin.RateLimitError
		switch {
		case errors.As(err, &rl):
			w.Header().Set("Retry-After", strconv.Itoa(int(rl.Wait.Seconds())+1))
			v.Error = "Too many sign-in attempts. Try again in a minute."
			s.render(w, r, http.StatusTooManyRequests, "signin", v)
			return
		case errors.Is(err, signin.ErrBadCredentials):
			v.Error = "The email or password is wrong."
			s.render(w, r, http.StatusUnauthorized, "signin", v)
			return
		case err != nil:
			s.fail(w, r, err)
			return
		case len(res.Choices) > 0:
			data.Choices = res.Choices
			v.Error = "This email has accounts at several clinics. Choose one and enter your password again."
			s.render(w, r, http.StatusOK, "signin", v)
			return
		}
		if portal {
			s.holdActive(w, r, res.Principal) // another clinic's portal session stays, held
		}
		if _, err := s.startSession(w, r, res.Token); err != nil {
			s.fail(w, r, err)
			return
		}
		s.setCookie(w, s.cookies.admin, "", time.Time{})
		http.Redirect(w, r, startPage(res.Principal), http.StatusSeeOther)
	}
}

// signOut revokes the session's token (and, while impersonating, ends the
// grant and the admin's own session too) and clears the cookies.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	tok, _ := jwtctx.TokenFromContext(r.Context())
	p := tok.Principal
	if p.Impersonation != nil {
		if _, err := s.imp.End(r.Context(), p.Tenant, p.Impersonation.GrantID); err != nil {
			s.log.InfoContext(r.Context(), "ending an impersonation at sign-out", "err", err)
		}
		if c := r.CookiesNamed(s.cookies.admin); len(c) == 1 {
			if admin, err := s.tokens.Verify(r.Context(), c[0].Value, jwtctx.SessionToken); err == nil {
				if err := s.signin.SignOut(r.Context(), admin); err != nil {
					s.fail(w, r, err)
					return
				}
			}
		}
	}
	err := s.signin.SignOut(r.Context(), tok)
	s.clearCookies(w) // this browser forgets the token whatever happens
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to := "/signin"
	if p.Kind == kinds.Patient {
		to = "/portal/signin"
		if s.promoteHeld(w, r) { // another clinic's portal session stays signed in
			to = "/portal?done=signed-out-one"
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Server) sessionPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Session")
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "session", v)
}

type enrolData struct{ Email, Code string }

func (s *Server) enrolPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "enrol", &view{Title: "Patient portal: enrol", Data: enrolData{}, Now: s.now()})
}

// enrol turns an invite code into a portal account, rate-limited by the
// sign-in service like the API's enrolment.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	data := enrolData{Email: strings.TrimSpace(r.PostFormValue("email")), Code: strings.TrimSpace(r.PostFormValue("code"))}
	v := &view{Title: "Patient portal: enrol", Data: data, Now: s.now()}
	password := r.PostFormValue("password")
	if data.Code == "" || data.Email == "" || password == "" {
		v.Error = "The invite code, your email and a password are all needed."
		s.render(w, r, http.StatusUnprocessableEntity, "enrol", v)
		return
	}
	if err := s.signin.AllowEnrol(signin.ClientIP(r)); err != nil {
		v.Error = "Too many attempts. Try again in a minute."
		s.render(w, r, http.StatusTooManyRequests, "enrol", v)
		return
	}
	if _, err := s.store.EnrolPortal(r.Context(), data.Code, data.Email, password); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			v.Error = "This invite code is not valid, or it has expired or been used. Ask your clinic for a new one."
			s.render(w, r, http.StatusUnprocessableEntity, "enrol", v)
			return
		}
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.render(w, r, status, "enrol", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/signin?done=enrolled", http.StatusSeeOther)
}
