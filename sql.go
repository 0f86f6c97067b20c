package tenancy

import (
	"database/sql/driver"
	"fmt"
)

// Value implements [driver.Valuer] for database/sql: the canonical text
// form, which PostgreSQL reads as a uuid, a bigint or a text, whichever the
// column is. It fails for the zero ID, so a missing tenant cannot be written
// as if it were one; store an optional ID as a *ID (nil is NULL).
func (id ID) Value() (driver.Value, error) {
	if id.IsZero() {
		return nil, fmt.Errorf("%w: refusing to store the zero ID", ErrInvalidID)
	}
	return id.s, nil
}

// Scan implements [database/sql.Scanner]. It reads what a uuid, bigint or
// text key column gives: text (as string or []byte) that is a valid key of
// some [KeyType], kept exactly as it is, or an int64 other than 0. A
// []byte is always read as text (drivers give a uuid's text form), never
// as a UUID's 16 raw bytes; use [FromUUID] for those. NULL and anything else fail with an error wrapping
// [ErrInvalidID] (scan an optional column into a **ID or *ID pointer
// variable instead). On error id is left unchanged.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return id.scanText(v)
	case []byte:
		// Always text: pgx and lib/pq give a uuid's text, and 16 bytes of
		// a text key must not be read as a UUID's.
		return id.scanText(string(v))
	case int64:
		if v == 0 {
			return fmt.Errorf("%w: the bigint 0 is not an identifier", ErrInvalidID)
		}
		*id = IntID(v)
		return nil
	case nil:
		return fmt.Errorf("%w: NULL", ErrInvalidID)
	default:
		return fmt.Errorf("%w: cannot scan %T", ErrInvalidID, src)
	}
}

const zeroUUID = "00000000-0000-0000-0000-000000000000"

func (id *ID) scanText(s string) error {
	if s == zeroUUID {
		return fmt.Errorf("%w: the zero UUID is not an identifier", ErrInvalidID)
	}
	if !validKey(s) {
		return fmt.Errorf("%w: not a uuid, bigint or text key", ErrInvalidID)
	}
	*id = ID{s}
	return nil
}
