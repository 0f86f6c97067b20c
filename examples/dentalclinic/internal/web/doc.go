// Package web is the reference app's web UI: server-rendered pages for
// clinic staff, the patient portal and the platform admin console, served
// by the same binary as the JSON API (see package api) and built on the
// same store and the same permission model.
//
// # Pages
//
// Staff: sign-in (with the clinic choice when an email has accounts at
// several clinics), the day and week schedule by chair in the clinic's time
// zone, booking and rescheduling, patient search and chart, invoices,
// prescriptions (dentists only), staff, settings and the owner's audit log.
// Patients: enrolment with an invite code, sign-in, appointments (cancel,
// within the clinic's notice, and ask to move), requests and the clinic's
// answer, invoices, prescriptions and contact details. The front desk
// (the roles that book) answers the requests from an inbox, /requests. Platform admins: the clinic
// registry, new clinics, suspension and impersonation. Everyone: a Session
// page showing what the signed-in token says.
//
// # Security
//
// The tenant comes only from the verified token in the HttpOnly session
// cookie, read by jwtctx's middleware in cookie mode; no page takes a
// clinic from its URL, query or form. Every route is registered with an
// [Allow] (deny by default, the API's role sets; see [Server.Routes]);
// another clinic's record is the same 404 page as a missing one.
//
//   - Cookies are HttpOnly and SameSite=Strict, and Secure with the __Host-
//     prefix when [Config.SecureCookies] is set (any HTTPS deployment).
//   - Every signed-in form carries a CSRF token bound to the session (an
//     HMAC over the token's id and principal, checked by jwtctx together
//     with the browser's Origin and Sec-Fetch-Site); the public forms
//     (sign-in, enrolment) must be same-origin.
//   - Every response carries [ContentSecurityPolicy] (no inline script or
//     style, nothing from other origins, frame-ancestors 'none'),
//     X-Content-Type-Options nosniff, Referrer-Policy no-referrer and
//     X-Frame-Options DENY; pages are Cache-Control no-store.
//   - Sign-in, sign-out (which revokes the token) and the refusal of a
//     suspended clinic's sessions are the app's sign-in service's (package
//     signin), which the JSON API calls too: one set of rules, one rate
//     limit. The web UI does not import the API.
//   - A patient enrolled at several clinics holds one session per clinic:
//     the active one in the session cookie (the only cookie the middleware
//     reads) and up to four others in held cookies of their own, each an
//     ordinary token for its one clinic, revocable alone. Signing in to
//     another clinic's portal holds the current session; the header's
//     switcher lists only the clinics whose held tokens still verify (it
//     names no clinic this browser has no session for) and swaps the
//     chosen one in, with a new CSRF token bound to it; signing out
//     revokes the active token only, and another held session becomes
//     active. A token never acts at a clinic other than its own.
//   - While a platform admin impersonates a clinic, every page carries a
//     banner naming the clinic with the time left and an End button, and
//     every request is recorded in the clinic's audit chain.
package web
