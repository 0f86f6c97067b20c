package web

import "strings"

// auditKind is a group of actions the owner's audit log filters by.
type auditKind struct{ Code, Label string }

// auditKinds are the groups of actions, in the order the filter lists them.
var auditKinds = []auditKind{
	{"patients", "Patients and charts"},
	{"appointments", "Appointments"},
	{"billing", "Invoices and payments"},
	{"prescriptions", "Prescriptions"},
	{"clinic", "Staff, settings and exports"},
	{"session", "Sessions"},
	{"impersonation", "Impersonation"},
	{"platform", "Platform"},
}

// actionWord is what an audit entry's action says, in plain words: its
// group, and a sentence where "{patient}" stands for the patient whose
// record it is (their name where the reader may see it, else "a patient")
// and "{staff}" for the staff member whose account it is.
type actionWord struct{ Kind, Words string }

// actionWords is the one table of the words of every action the app
// records: the store's domain events, the impersonation package's, and
// (for a platform admin's impersonated requests, which are recorded as
// the request's method and route) every page of the web UI an
// impersonating admin may reach. The API's routes get words made from
// their path (routeWords). TestActionWords fails on an action the app
// records without words here.
var actionWords = map[string]actionWord{
	// The store's domain events (store.record).
	"patient.create":                {"patients", "Registered {patient} as a patient"},
	"patient.update":                {"patients", "Changed the details of {patient}"},
	"patient.view":                  {"patients", "Opened the chart of {patient}"},
	"patient.statement":             {"billing", "Opened the statement of {patient}"},
	"portal_invite.create":          {"patients", "Made a portal invite code for {patient}"},
	"appointment.create":            {"appointments", "Booked an appointment for {patient}"},
	"appointment.request":           {"appointments", "Asked for an appointment for {patient} in the portal"},
	"appointment.update":            {"appointments", "Changed an appointment of {patient}"},
	"appointment.view":              {"appointments", "Opened an appointment of {patient}"},
	"appointment.cancel":            {"appointments", "Cancelled an appointment of {patient}"},
	"appointment_request.create":    {"appointments", "Asked for an appointment for {patient} in the portal"},
	"appointment_request.confirm":   {"appointments", "Confirmed an appointment request of {patient}"},
	"appointment_request.decline":   {"appointments", "Declined an appointment request of {patient}"},
	"appointment.hours_override":    {"appointments", "Booked {patient} outside opening hours, with a reason"},
	"invoice.create":                {"billing", "Made an invoice for {patient}"},
	"invoice.issue":                 {"billing", "Issued an invoice to {patient}"},
	"invoice.view":                  {"billing", "Opened an invoice of {patient}"},
	"invoice.void":                  {"billing", "Voided an invoice of {patient}"},
	"payment.create":                {"billing", "Took a payment from {patient}"},
	"payment.receipt":               {"billing", "Opened a receipt for {patient}"},
	"prescription.create":           {"prescriptions", "Prescribed for {patient}"},
	"prescription.allergy_override": {"prescriptions", "Prescribed for {patient} despite a recorded allergy, giving a reason"},
	"prescription.void":             {"prescriptions", "Voided a prescription of {patient}"},
	"prescription.view":             {"prescriptions", "Opened a prescription of {patient}"},
	"staff.create":                  {"clinic", "Added {staff} to the staff"},
	"staff.update":                  {"clinic", "Changed the account of {staff}"},
	"settings.update":               {"clinic", "Changed the clinic's settings"},
	"fee_schedule.replace":          {"clinic", "Changed the fee schedule"},
	"operatory.create":              {"clinic", "Added a chair"},
	"operatory.update":              {"clinic", "Changed a chair"},
	"clinic.export.request":         {"clinic", "Asked for an export of the clinic's records"},
	"clinic.export.download":        {"clinic", "Downloaded an export of the clinic's records"},
	// The platform's events in the clinic's chain.
	"clinic.create":   {"platform", "Created the clinic"},
	"clinic.suspend":  {"platform", "Suspended the clinic"},
	"clinic.offboard": {"platform", "Began offboarding the clinic: export, then erasure"},
	"system.use":      {"platform", "Ran system work on the clinic's records"},
	// The impersonation package's events.
	"impersonation.started": {"impersonation", "Began impersonating the clinic"},
	"impersonation.ended":   {"impersonation", "Ended the impersonation"},
	"impersonation.refused": {"impersonation", "Was refused while impersonating the clinic"},

	// A platform admin's impersonated requests: the web UI's pages.
	"GET /schedule":                     {"appointments", "Opened the schedule"},
	"GET /appointments/new":             {"appointments", "Opened the booking form"},
	"POST /appointments":                {"appointments", "Booked an appointment for {patient}"},
	"GET /appointments/{id}":            {"appointments", "Opened an appointment of {patient}"},
	"POST /appointments/{id}":           {"appointments", "Changed an appointment of {patient}"},
	"GET /patients":                     {"patients", "Searched the patients"},
	"GET /patients/{id}":                {"patients", "Opened the chart of {patient}"},
	"GET /patients/{id}/statement":      {"billing", "Opened the statement of {patient}"},
	"GET /requests":                     {"appointments", "Opened the appointment requests"},
	"POST /requests/{id}/confirm":       {"appointments", "Confirmed an appointment request"},
	"POST /requests/{id}/decline":       {"appointments", "Declined an appointment request"},
	"GET /patients/new":                 {"patients", "Opened the new patient form"},
	"POST /patients":                    {"patients", "Registered a patient"},
	"GET /patients/{id}/edit":           {"patients", "Opened the details form of {patient}"},
	"POST /patients/{id}":               {"patients", "Changed the details of {patient}"},
	"POST /patients/{id}/portal-invite": {"patients", "Made a portal invite code for {patient}"},
	"POST /patients/{id}/prescriptions": {"prescriptions", "Prescribed for {patient}"},
	"GET /invoices":                     {"billing", "Opened the list of invoices"},
	"GET /invoices/new":                 {"billing", "Opened the new invoice form"},
	"POST /invoices":                    {"billing", "Made an invoice for {patient}"},
	"GET /invoices/{id}":                {"billing", "Opened an invoice of {patient}"},
	"POST /invoices/{id}/issue":         {"billing", "Issued an invoice to {patient}"},
	"POST /invoices/{id}/void":          {"billing", "Voided an invoice of {patient}"},
	"POST /invoices/{id}/payments":      {"billing", "Took a payment from {patient}"},
	"GET /payments/{id}/receipt":        {"billing", "Opened a receipt for {patient}"},
	"GET /staff":                        {"clinic", "Opened the staff list"},
	"POST /staff":                       {"clinic", "Added {staff} to the staff"},
	"POST /staff/{id}":                  {"clinic", "Changed the account of {staff}"},
	"GET /settings":                     {"clinic", "Opened the settings"},
	"POST /settings":                    {"clinic", "Changed the clinic's settings"},
	"POST /settings/chairs":             {"clinic", "Added a chair"},
	"POST /settings/chairs/{id}":        {"clinic", "Changed a chair"},
	"POST /settings/fees":               {"clinic", "Changed the fee schedule"},
	"POST /settings/exports":            {"clinic", "Asked for an export of the clinic's records"},
	"GET /settings/exports/{id}":        {"clinic", "Downloaded an export of the clinic's records"},
	"GET /audit":                        {"clinic", "Opened the audit log"},
	"GET /session":                      {"session", "Opened the session page"},
	"POST /signout":                     {"session", "Signed out"},
	"POST /impersonation/end":           {"impersonation", "Ended the impersonation"},
}

// apiNoun names the records under one first path segment of the API, and
// the group of actions its requests are in.
type apiNoun struct{ One, Many, Kind string }

// apiNouns name the records under each first path segment of the API:
// the one table both the words of an API request (routeWords) and the
// kind filter (actionsOfKind) are made from.
var apiNouns = map[string]apiNoun{
	"patients": {"a patient's record", "patients", "patients"}, "appointments": {"an appointment", "appointments", "appointments"},
	"invoices": {"an invoice", "invoices", "billing"}, "payments": {"a payment", "payments", "billing"},
	"prescriptions": {"a prescription", "prescriptions", "prescriptions"}, "staff": {"a staff account", "the staff", "clinic"},
	"settings": {"the settings", "the settings", "clinic"}, "operatories": {"a chair", "the chairs", "clinic"},
	"fees": {"the fee schedule", "the fee schedule", "clinic"}, "audit": {"the audit log", "the audit log", "clinic"},
	"exports": {"an export", "the exports", "clinic"}, "me": {"the session", "the session", "clinic"},
}

// apiPrefix is the path under which the API's routes are.
const apiPrefix = "/api/v1/"

// wordsOf returns the group and the words of an action, or ok false when
// the table has none. An API request (a method and a route under
// /api/v1) is put in words from its path.
func wordsOf(action string) (actionWord, bool) {
	if w, ok := actionWords[action]; ok {
		return w, true
	}
	return routeWords(action)
}

// routeWords puts an impersonated API request ("GET /api/v1/patients/{id}")
// in words: what it did to which kind of record, through the API.
func routeWords(action string) (actionWord, bool) {
	method, path, ok := strings.Cut(action, " ")
	rest, api := strings.CutPrefix(path, apiPrefix)
	if !ok || !api {
		return actionWord{}, false
	}
	segs := strings.Split(rest, "/")
	noun, known := apiNouns[segs[0]]
	if !known {
		noun = apiNoun{"a record", "records", "clinic"}
	}
	one := len(segs) > 1 && strings.HasPrefix(segs[1], "{")
	obj := noun.Many
	if one {
		obj = noun.One
	}
	verb := map[string]string{"GET": "Read", "POST": "Made a change to", "PATCH": "Changed", "PUT": "Replaced", "DELETE": "Deleted"}[method]
	if verb == "" {
		return actionWord{}, false
	}
	if method == "POST" && !one {
		verb = "Added to"
	}
	return actionWord{Kind: noun.Kind, Words: verb + " " + obj + " through the API"}, true
}

// actionsOfKind returns, for the store's filter, every action of the
// table in group kind, and the API paths whose impersonated requests
// (recorded as their method and route, put in words by routeWords) are
// in it: one per first path segment of apiNouns of that kind.
func actionsOfKind(kind string) (actions, routes []string) {
	for a, w := range actionWords {
		if w.Kind == kind {
			actions = append(actions, a)
		}
	}
	for seg, n := range apiNouns {
		if n.Kind == kind {
			routes = append(routes, apiPrefix+seg)
		}
	}
	return actions, routes
}
