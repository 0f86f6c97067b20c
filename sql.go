package tenancy

import (
	"database/sql/driver"
	"fmt"
)

// Value implements [driver.Valuer] for database/sql: the canonical text
// form, which PostgreSQL reads as a uuid. It fails for the zero ID, so a
// missing tenant cannot be written as if it were one; store an optional ID
// as a *ID (nil is NULL).
func (id ID) Value() (driver.Value, error) {
	if id.IsZero() {
		return nil, fmt.Errorf("%w: refusing to store the zero ID", ErrInvalidID)
	}
	return id.String(), nil
}

// Scan implements [database/sql.Scanner]. It accepts the canonical text
// form (as string or []byte) and the 16 raw bytes of a uuid; NULL and
// anything else fail with an error wrapping [ErrInvalidID] (scan an optional
// column into a **ID or *ID pointer variable instead). On error id is left
// unchanged.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return id.UnmarshalText([]byte(v))
	case []byte:
		if len(v) == 16 {
			var raw ID
			copy(raw[:], v)
			if raw.IsZero() {
				return fmt.Errorf("%w: the zero UUID is not an identifier", ErrInvalidID)
			}
			*id = raw
			return nil
		}
		return id.UnmarshalText(v)
	case nil:
		return fmt.Errorf("%w: NULL", ErrInvalidID)
	default:
		return fmt.Errorf("%w: cannot scan %T", ErrInvalidID, src)
	}
}
