package tenancy

import (
	"context"
	"log/slog"
)

// The attribute keys that [LogHandler] adds to a record.
const (
	// LogKeyTenant is the key of the principal's tenant (its text).
	LogKeyTenant = "tenant"
	// LogKeyKind is the key of the principal's kind.
	LogKeyKind = "principal_kind"
	// LogKeyRequestID is the key of the principal's request id.
	LogKeyRequestID = "request_id"
	// LogKeyImpersonated is the key of a true added when a platform admin
	// acts under an impersonation grant.
	LogKeyImpersonated = "impersonated"
)

// LogHandler returns a [slog.Handler] that adds, to every record logged
// with a context that carries a principal, the principal's tenant (when
// it has one), kind, request id (when set) and whether it is
// impersonated, under the LogKey keys, then hands the record to next. A
// record logged without a context, or with one that carries no principal,
// passes unchanged. The attributes join the record's own, under whatever
// group the logger opened (slog.Logger.WithGroup). It adds no subject, actor, roles or token: the
// attributes say which tenant's work a record belongs to, not who the
// person is. Log with the request's context (slog.InfoContext and the
// like) so that the attributes are there. The handler is safe for
// concurrent use when next is.
func LogHandler(next slog.Handler) slog.Handler {
	return logHandler{next: next}
}

type logHandler struct{ next slog.Handler }

func (h logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if v, ok := ctx.Value(principalKey{}).(principalValue); ok {
			r = r.Clone()
			r.AddAttrs(LogAttrs(v.p)...)
		}
	}
	return h.next.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{next: h.next.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{next: h.next.WithGroup(name)}
}

// LogAttrs returns the attributes that [LogHandler] adds for p: for code
// that logs through another logger, or builds its own records. It is safe
// for concurrent use.
func LogAttrs(p Principal) []slog.Attr {
	attrs := make([]slog.Attr, 0, 4)
	if p.HasTenant() {
		attrs = append(attrs, slog.String(LogKeyTenant, p.Tenant.String()))
	}
	attrs = append(attrs, slog.String(LogKeyKind, p.Kind.String()))
	if p.RequestID != "" {
		attrs = append(attrs, slog.String(LogKeyRequestID, p.RequestID))
	}
	if p.Impersonation != nil {
		attrs = append(attrs, slog.Bool(LogKeyImpersonated, true))
	}
	return attrs
}
