package audit

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mydentalpractice/tenancy"
)

// Event is one audit record: who did what to which resource, with what
// outcome, in which tenant's chain. Events are values, safe to copy and to
// read from several goroutines.
//
// The caller of [Record] sets Tenant (or leaves it to the context's
// tenant), Action, ResourceType, ResourceID, Outcome and Reason. Record
// sets every other field: ID, Seq, Version, OccurredAt, the actor fields
// from the principal in the context, RequestID, PrevHash and Hash.
//
// Reason is the only free-text field. It must never hold the tenant's
// data (records' content, personal data), tokens, passwords or other
// secrets: it is an operator's stated justification ("customer asked for
// a data export", "support ticket 4711"), shown to the tenant's readers
// of the audit log.
// ResourceID is an identifier, not content.
type Event struct {
	// ID is a UUIDv7 made by Record.
	ID tenancy.ID
	// Tenant is the tenant whose chain the event joins; zero means a
	// platform-wide event (the platform chain).
	Tenant tenancy.ID
	// Seq is the event's position in its chain, from 1 without gaps.
	Seq int64
	// Version is the canonical encoding's version; see [Event.Encode].
	Version int16
	// OccurredAt is when the event was recorded, in UTC, to the
	// microsecond (PostgreSQL's precision).
	OccurredAt time.Time

	// ActorKind is the kind of the principal who acted; [tenancy.KindSystem]
	// when there was none.
	ActorKind tenancy.Kind
	// Actor is the id of the person who really acted
	// ([tenancy.Principal.Actor]); zero for system work.
	Actor tenancy.ID
	// Grant and Impersonator are set when a platform admin acted under an
	// impersonation grant: the grant's id and the admin's id. Both or
	// neither are zero.
	Grant, Impersonator tenancy.ID

	// Action names what happened, in 1 to 100 bytes, in one of two
	// forms: a name of a-z, 0-9, '.', '_', ':' and '-', such as
	// "invoice.update" or [ActionSystem]; or an HTTP request, its method
	// (A-Z), one space and its route pattern (printable ASCII without
	// spaces), such as "GET /invoices/{id}", which package impersonation
	// writes for each impersonated request. Never a raw path or query.
	// Required.
	Action string
	// ResourceType is the kind of object acted on, such as "invoice";
	// the alphabet of an Action name, at most 100 bytes. Optional.
	ResourceType string
	// ResourceID identifies the object (its id), at most
	// 200 bytes of printable UTF-8. Optional. Never content.
	ResourceID string
	// Outcome is whether the action succeeded. Required.
	Outcome Outcome
	// Reason is a stated justification, at most 500 bytes of printable
	// UTF-8. Optional, except for impersonation. No tenant data, tokens
	// or secrets.
	Reason string
	// RequestID correlates the event with logs; from the principal.
	RequestID string

	// PrevHash is the Hash of the previous event in the chain; all zero
	// for the first event.
	PrevHash Hash
	// Hash is SHA-256 of the event's canonical encoding ([Event.Encode]).
	Hash Hash
}

// Limits of the text fields of an [Event], in bytes. The database checks
// them too.
const (
	MaxActionLen     = 100
	MaxResourceIDLen = 200
	MaxReasonLen     = 500
	MaxRequestIDLen  = 128
)

// Actions written by this package.
const (
	// ActionSystem is the action of [OnSystem]'s events.
	ActionSystem = "system.use"
)

// Outcome says whether an audited action succeeded. The zero Outcome is
// invalid.
type Outcome uint8

// The outcomes. Their text forms are "success", "failure" and "denied".
const (
	// Success: the action took effect.
	Success Outcome = iota + 1
	// Failure: the action was attempted and failed.
	Failure
	// Denied: the action was refused (authentication or authorization).
	Denied
)

var outcomeNames = [...]string{Success: "success", Failure: "failure", Denied: "denied"}

// String returns the outcome's text form, or "Outcome(n)" when invalid.
func (o Outcome) String() string {
	if o.Valid() {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool { return o >= Success && o <= Denied }

// ParseOutcome parses an outcome's text form; unknown text gives an error
// wrapping [ErrInvalidEvent].
func ParseOutcome(s string) (Outcome, error) {
	for o, name := range outcomeNames {
		if name != "" && name == s {
			return Outcome(o), nil
		}
	}
	return 0, fmt.Errorf("%w: outcome %q", ErrInvalidEvent, truncate(s, 16))
}

// Hash is a SHA-256 digest of an event's canonical encoding.
type Hash [32]byte

// String returns the hash in lower-case hexadecimal.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zero (the PrevHash of a chain's first
// event).
func (h Hash) IsZero() bool { return h == Hash{} }

// Validate reports whether e's text fields, outcome, actor kind and
// grant keep the documented limits, as [Record] checks them before it
// sends any SQL: nil, or an error wrapping [ErrInvalidEvent] that names
// the first field out of bounds. It is safe for concurrent use.
func (e Event) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
	}
	if !validName(e.Action, false) && !validRequestAction(e.Action) {
		return bad("action must be 1 to %d bytes of [a-z0-9._:-], or a method and a route", MaxActionLen)
	}
	if !validName(e.ResourceType, true) {
		return bad("resource type must be at most %d bytes of [a-z0-9._:-]", MaxActionLen)
	}
	if !validText(e.ResourceID, MaxResourceIDLen) {
		return bad("resource id must be at most %d bytes of printable UTF-8", MaxResourceIDLen)
	}
	if !validText(e.Reason, MaxReasonLen) {
		return bad("reason must be at most %d bytes of printable UTF-8", MaxReasonLen)
	}
	if !validText(e.RequestID, MaxRequestIDLen) {
		return bad("request id must be at most %d bytes of printable UTF-8", MaxRequestIDLen)
	}
	if !e.Outcome.Valid() {
		return bad("outcome %d is invalid", uint8(e.Outcome))
	}
	if !e.ActorKind.Valid() {
		return bad("actor kind is malformed")
	}
	if e.Grant.IsZero() != e.Impersonator.IsZero() {
		return bad("grant and impersonator must be both set or both zero")
	}
	return nil
}

func validName(s string, optional bool) bool {
	if s == "" {
		return optional
	}
	if len(s) > MaxActionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// validRequestAction reports whether s is an HTTP method (A-Z), one
// space and a route of printable ASCII without spaces, in at most
// MaxActionLen bytes.
func validRequestAction(s string) bool {
	method, route, ok := strings.Cut(s, " ")
	if !ok || method == "" || route == "" || len(s) > MaxActionLen {
		return false
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	for i := 0; i < len(route); i++ {
		if c := route[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func validText(s string, limit int) bool {
	if len(s) > limit || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
