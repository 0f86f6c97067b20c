package tenantdb

import "github.com/mydentalpractice/tenancy"

// encodeArgs returns args with every non-zero tenancy.ID (and *tenancy.ID)
// replaced by its canonical text, which pgx encodes as a uuid in every exec
// mode (binary after a describe, text to the server otherwise) with one
// allocation. An ID passed as is takes pgx's driver.Valuer path
// (tenancy.ID implements it for database/sql), which costs about 18
// allocations per argument. Zero IDs
// are left alone, so their Value method refuses them. args is returned
// unchanged, without copying, when it holds no ID: the common case costs
// one pass over the arguments.
func encodeArgs(args []any) []any {
	i := 0
	for ; i < len(args); i++ {
		if isID(args[i]) {
			break
		}
	}
	if i == len(args) {
		return args
	}
	out := make([]any, len(args))
	copy(out, args)
	for ; i < len(out); i++ {
		switch v := out[i].(type) {
		case tenancy.ID:
			if !v.IsZero() {
				out[i] = v.String()
			}
		case *tenancy.ID:
			if v == nil {
				out[i] = nil
			} else if !v.IsZero() {
				out[i] = v.String()
			}
		}
	}
	return out
}

func isID(a any) bool {
	switch a.(type) {
	case tenancy.ID, *tenancy.ID:
		return true
	}
	return false
}
