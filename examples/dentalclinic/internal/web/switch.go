package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// The portal's clinic switcher. A portal account is per clinic, so a
// patient enrolled at two clinics has two sessions, each an ordinary
// token for one clinic. The browser keeps the active one in the session
// cookie, which is the only cookie the middleware reads, and up to
// maxHeld others in held cookies of their own (HttpOnly, SameSite=Strict,
// like the session's). Signing in to another clinic's portal while
// signed in holds the current session; switching swaps the chosen held
// token with the active one and binds a new CSRF token to it; signing out
// revokes the active token alone and makes a held one active. A held
// token is verified every time it is listed or used, so a revoked or
// expired one disappears; the switcher lists only the clinics of tokens
// this browser holds, so it reveals no other clinic, and a token only
// ever acts at its own clinic, as the active session.

// maxHeld is how many other clinics' portal sessions a browser holds.
const maxHeld = 4

func (s *Server) switchRoutes() {
	s.handle("POST /portal/switch", portalPatient, s.portalSwitch)
}

// heldCookie names held slot i (1 to maxHeld).
func (s *Server) heldCookie(i int) string {
	prefix := ""
	if s.secure {
		prefix = "__Host-"
	}
	return prefix + "portal-held-" + strconv.Itoa(i)
}

// heldSession is a verified portal token in a held slot.
type heldSession struct {
	slot int
	raw  string
	tok  jwtctx.Token
}

// portalToken verifies raw as a patient's session token of a clinic.
func (s *Server) portalToken(r *http.Request, raw string) (jwtctx.Token, bool) {
	tok, err := s.tokens.Verify(r.Context(), raw, jwtctx.SessionToken)
	if err != nil || tok.Principal.Kind != kinds.Patient || !tok.Principal.HasTenant() {
		return jwtctx.Token{}, false
	}
	return tok, true
}

// held returns the held sessions that still verify, by slot; the empty
// slots, and those whose token no longer verifies, are in free.
func (s *Server) held(r *http.Request) (list []heldSession, free []int) {
	for i := 1; i <= maxHeld; i++ {
		c := r.CookiesNamed(s.heldCookie(i))
		if len(c) != 1 || c[0].Value == "" {
			free = append(free, i)
			continue
		}
		tok, ok := s.portalToken(r, c[0].Value)
		if !ok {
			free = append(free, i)
			continue
		}
		list = append(list, heldSession{slot: i, raw: c[0].Value, tok: tok})
	}
	return list, free
}

// holdActive keeps the browser's active portal session, if it is one for
// a clinic other than next's, in a held slot, when a sign-in to next is
// about to replace it; held sessions for next's clinic are dropped (next
// replaces them) and revoked.
func (s *Server) holdActive(w http.ResponseWriter, r *http.Request, next tenancy.Principal) {
	list, free := s.held(r)
	for _, h := range list {
		if h.tok.Principal.Tenant == next.Tenant {
			_ = s.signin.SignOut(r.Context(), h.tok)
			s.setCookie(w, s.heldCookie(h.slot), "", time.Time{})
			free = append(free, h.slot)
		}
	}
	c := r.CookiesNamed(s.cookies.session)
	if len(c) != 1 {
		return
	}
	cur, ok := s.portalToken(r, c[0].Value)
	if !ok || cur.Principal.Tenant == next.Tenant {
		return
	}
	for _, h := range list {
		if h.tok.Principal.Tenant == cur.Principal.Tenant {
			return // held already
		}
	}
	if len(free) == 0 {
		return // full: the old session is left, unheld, to expire
	}
	s.setCookie(w, s.heldCookie(free[0]), c[0].Value, cur.ExpiresAt)
}

// clinicOption is one clinic of the switcher: a held slot and its name.
type clinicOption struct {
	Slot int
	Name string
}

// switchOptions lists the other clinics whose portal sessions this
// browser holds, for the header's switcher.
func (s *Server) switchOptions(r *http.Request, active tenancy.ID) []clinicOption {
	list, _ := s.held(r)
	var ids []tenancy.ID
	for _, h := range list {
		ids = append(ids, h.tok.Principal.Tenant)
	}
	if len(ids) == 0 {
		return nil
	}
	names, err := s.store.ClinicNames(r.Context(), ids)
	if err != nil {
		s.log.InfoContext(r.Context(), "clinic names for the switcher", "err", err)
		return nil
	}
	var out []clinicOption
	for _, h := range list {
		if name, ok := names[h.tok.Principal.Tenant]; ok && h.tok.Principal.Tenant != active {
			out = append(out, clinicOption{Slot: h.slot, Name: name})
		}
	}
	return out
}

// portalSwitch makes the held session of the posted slot the active one,
// and holds the active one in its place. A slot that holds no session
// that verifies is a 404, as a missing record would be.
func (s *Server) portalSwitch(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	slot, err := strconv.Atoi(r.PostFormValue("slot"))
	if err != nil || slot < 1 || slot > maxHeld {
		s.renderError(w, r, http.StatusNotFound, "")
		return
	}
	var target *heldSession
	list, _ := s.held(r)
	for i := range list {
		if list[i].slot == slot {
			target = &list[i]
		}
	}
	cur, _ := jwtctx.TokenFromContext(r.Context())
	c := r.CookiesNamed(s.cookies.session)
	if target == nil || len(c) != 1 || target.tok.Principal.Tenant == cur.Principal.Tenant {
		s.renderError(w, r, http.StatusNotFound, "")
		return
	}
	s.setCookie(w, s.heldCookie(slot), c[0].Value, cur.ExpiresAt)
	if _, err := s.startSession(w, r, target.raw); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal", http.StatusSeeOther)
}

// promoteHeld makes a held session active after the active one signed
// out, and reports whether there was one.
func (s *Server) promoteHeld(w http.ResponseWriter, r *http.Request) bool {
	list, _ := s.held(r)
	if len(list) == 0 {
		return false
	}
	h := list[0]
	if _, err := s.startSession(w, r, h.raw); err != nil {
		return false
	}
	s.setCookie(w, s.heldCookie(h.slot), "", time.Time{})
	return true
}
