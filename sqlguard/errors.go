package sqlguard

import (
	"errors"
	"fmt"

	"github.com/mydentalpractice/tenancy"
)

var (
	// ErrRefused is wrapped by every [*RefusalError]: the statement breaks a
	// rule and must not be sent. Test for it with [errors.Is], or use
	// [errors.As] with a *RefusalError to read the table, rule and position.
	ErrRefused = errors.New("sqlguard: statement refused")

	// ErrInvalidConfig is returned by [New] when a [Config] field is
	// missing or malformed.
	ErrInvalidConfig = errors.New("sqlguard: invalid config")
)

// errNoTenant is returned by [Guard.Check] for the zero tenant. It is a
// package variable so that returning it does not allocate.
var errNoTenant = fmt.Errorf("sqlguard: %w", tenancy.ErrNoTenant)

// RefusalError says why [Guard.Check] refused a statement. It wraps
// [ErrRefused]. A RefusalError returned to a caller is the caller's own
// copy; it is not shared, so reading or changing it is safe.
type RefusalError struct {
	// Table is the table concerned as the statement names it, schema-qualified
	// when the statement qualifies it ("public.tasks", "tasks"), or ""
	// when the rule is not about a table (a SET, a syntax error).
	Table string

	// Rule is the rule broken, one of the Rule constants.
	Rule Rule

	// Pos is the 0-based byte offset in the SQL text of the construct that
	// breaks the rule: the table reference, the parameter, the string
	// constant, the assignment, or the start of the statement.
	Pos int

	// Param is the parameter number n of $n for [RuleParamTenant], else 0.
	Param int

	// Func is the function or operator refused by [RuleFunction],
	// [RuleSetConfig] or [RuleOperator], as the statement names it
	// ("pg_sleep", "pg_catalog.pg_read_file", "public.==="), else "".
	Func string
}

// Error returns a message naming the rule, the table or function, and the
// position. It never contains parameter values. It is safe for concurrent use as long
// as e is not being changed.
func (e *RefusalError) Error() string {
	msg := "sqlguard: statement refused (" + string(e.Rule) + ")"
	if e.Table != "" {
		msg += ": table " + e.Table
	}
	switch {
	case e.Func != "" && e.Rule == RuleOperator:
		msg += ": operator " + e.Func
	case e.Func != "":
		msg += ": function " + e.Func
	}
	if e.Param > 0 {
		msg += fmt.Sprintf(": parameter $%d", e.Param)
	}
	return msg + fmt.Sprintf(" at byte %d", e.Pos)
}

// Unwrap returns [ErrRefused]. It is safe for concurrent use.
func (e *RefusalError) Unwrap() error { return ErrRefused }
