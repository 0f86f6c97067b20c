package store

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/currency"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Weekdays are the keys of OpeningHours, Monday first.
var Weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// OpeningHours maps each weekday ("mon" ... "sun") to its opening ranges,
// each a pair of local wall-clock times ["08:30", "17:30"] in the clinic's
// time zone, sorted and not overlapping. A day with no ranges is closed.
type OpeningHours map[string][][]string

// Closure is a day the clinic is closed.
type Closure struct {
	Date   Date   `json:"date"`
	Reason string `json:"reason"`
}

// Settings are a clinic's settings. ClinicName, TimeZone and Currency come
// from the clinic registry; the name is changed only by the platform.
type Settings struct {
	ClinicID     tenancy.ID   `json:"clinic_id"`
	ClinicName   string       `json:"clinic_name"`
	TimeZone     string       `json:"time_zone"`
	Currency     string       `json:"currency"`
	OpeningHours OpeningHours `json:"opening_hours"`
	Closures     []Closure    `json:"closures"`
	// Address is the clinic's postal address, lines separated by
	// newlines, as receipts and statements print it; "" when not given.
	Address string `json:"address"`
	// CancelNoticeHours is how long before an appointment a portal
	// patient may still cancel it or ask to move it online.
	CancelNoticeHours int        `json:"cancel_notice_hours"`
	UpdatedAt         *time.Time `json:"updated_at"`
}

// DefaultCancelNoticeHours is the cancellation notice of a clinic that
// never set one; MaxCancelNoticeHours the longest a clinic may set.
const (
	DefaultCancelNoticeHours = 24
	MaxCancelNoticeHours     = 336
)

// SettingsInput changes a clinic's settings. A field left out keeps its
// value; a field given replaces it whole.
type SettingsInput struct {
	TimeZone     *string       `json:"time_zone"`
	Currency     *string       `json:"currency"`
	OpeningHours *OpeningHours `json:"opening_hours"`
	Closures     *[]Closure    `json:"closures"`
	// Address replaces the clinic's postal address: at most 500
	// characters (maxAddress); "" removes it.
	Address *string `json:"address"`
	// CancelNoticeHours, 0 to MaxCancelNoticeHours.
	CancelNoticeHours *int `json:"cancel_notice_hours"`
}

var (
	clockTime    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
)

const (
	maxAddress      = 500
	maxRangesPerDay = 6
	maxClosures     = 400
)

// normalize checks the opening hours and returns them with every weekday
// present and each day's ranges sorted.
func (h OpeningHours) normalize() (OpeningHours, error) {
	out := OpeningHours{}
	for day := range h {
		if !oneOf(day, Weekdays) {
			return nil, invalid("opening_hours", "opening_hours has an unknown day "+jsonQuote(day)+"; use mon, tue, wed, thu, fri, sat, sun")
		}
	}
	for _, day := range Weekdays {
		ranges := slices.Clone(h[day])
		if len(ranges) > maxRangesPerDay {
			return nil, invalid("opening_hours", "opening_hours."+day+" has more than "+itoa(maxRangesPerDay)+" ranges")
		}
		for _, r := range ranges {
			if len(r) != 2 || !clockTime.MatchString(r[0]) || !clockTime.MatchString(r[1]) {
				return nil, invalid("opening_hours", "opening_hours."+day+" ranges are pairs of times [\"HH:MM\", \"HH:MM\"]")
			}
			if r[0] >= r[1] {
				return nil, invalid("opening_hours", "opening_hours."+day+" has a range that ends before it starts")
			}
		}
		slices.SortFunc(ranges, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
		for i := 1; i < len(ranges); i++ {
			if ranges[i][0] < ranges[i-1][1] {
				return nil, invalid("opening_hours", "opening_hours."+day+" has overlapping ranges")
			}
		}
		if ranges == nil {
			ranges = [][]string{}
		}
		out[day] = ranges
	}
	return out, nil
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func normalizeClosures(list []Closure) ([]Closure, error) {
	if len(list) > maxClosures {
		return nil, invalid("closures", "closures has more than "+itoa(maxClosures)+" entries")
	}
	out := slices.Clone(list)
	if out == nil {
		out = []Closure{}
	}
	for i := range out {
		if out[i].Date.IsZero() {
			return nil, invalid("closures", "each closure needs a date")
		}
		if y := out[i].Date.Year(); y < 2000 || y > 2200 {
			return nil, invalid("closures", "closure dates must be between 2000 and 2200")
		}
		if err := textField("closures", &out[i].Reason, 0, 200); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Closure) int { return a.Date.Compare(b.Date.Time) })
	for i := 1; i < len(out); i++ {
		if out[i].Date.Equal(out[i-1].Date.Time) {
			return nil, invalid("closures", "closures lists "+out[i].Date.Format(time.DateOnly)+" twice")
		}
	}
	return out, nil
}

// validTimeZone reports whether Go knows name as an IANA time zone;
// "Local" and the empty name are not zones. (UpdateSettings also asks
// PostgreSQL.)
func validTimeZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	_, err := clinicLocation(name)
	return err == nil
}

// Settings returns the caller's clinic's settings; a clinic that never
// saved any has no opening hours and no closures.
func (s *Store) Settings(ctx context.Context) (Settings, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Settings{}, err
	}
	var out Settings
	err = s.db.Tx(ctx, func(tx *tenantdb.Tx) error {
		out, err = readSettings(ctx, tx, p.Tenant)
		return err
	})
	return out, wrap("get settings", err)
}

func readSettings(ctx context.Context, tx *tenantdb.Tx, clinic tenancy.ID) (Settings, error) {
	var st Settings
	var hours, closures []byte
	err := tx.QueryRow(ctx, `select c.id, c.name, c.time_zone, c.currency, s.opening_hours, s.closures, coalesce(s.address, ''), s.updated_at,
		coalesce(s.cancel_notice_hours, $2)
		from clinics c left join clinic_settings s on s.clinic_id = c.id and s.clinic_id = $1
		where c.id = $1`, clinic, DefaultCancelNoticeHours).Scan(&st.ClinicID, &st.ClinicName, &st.TimeZone, &st.Currency, &hours, &closures, &st.Address, &st.UpdatedAt,
		&st.CancelNoticeHours)
	if err != nil {
		return st, notFound(err)
	}
	st.OpeningHours = OpeningHours{}
	if hours != nil {
		if err := json.Unmarshal(hours, &st.OpeningHours); err != nil {
			return st, err
		}
	}
	if st.OpeningHours, err = st.OpeningHours.normalize(); err != nil {
		return st, err
	}
	st.Closures = []Closure{}
	if closures != nil {
		if err := json.Unmarshal(closures, &st.Closures); err != nil {
			return st, err
		}
	}
	return st, nil
}

// UpdateSettings changes the caller's clinic's settings.
//
// The time zone and the currency live in the clinic registry, which the
// app role may only read. The owner may change them here: the change is
// written through tenantdb's System path (the platform role, each use
// recorded in the platform-wide audit chain), to the caller's own clinic
// only (where id = the token's tenant), while the tenant transaction that
// updates the other settings is open, so that a failed registry write
// leaves the settings unchanged too. The currency may change only while the clinic has no
// invoices (ErrConflict "currency_locked" otherwise), since amounts are
// integers in the currency's minor unit; fee schedule prices keep their
// numbers. Appointments are stored in UTC, so a new time zone moves their
// local times; opening hours are local and stay as written.
func (s *Store) UpdateSettings(ctx context.Context, in SettingsInput) (Settings, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Settings{}, err
	}
	var hours OpeningHours
	var closures []Closure
	if in.OpeningHours != nil {
		if hours, err = in.OpeningHours.normalize(); err != nil {
			return Settings{}, err
		}
	}
	if in.Closures != nil {
		if closures, err = normalizeClosures(*in.Closures); err != nil {
			return Settings{}, err
		}
	}
	var address *string
	if in.Address != nil {
		a := strings.TrimSpace(strings.ReplaceAll(*in.Address, "\r\n", "\n"))
		if err := textField("address", &a, 0, maxAddress); err != nil {
			return Settings{}, err
		}
		address = &a
	}
	if in.CancelNoticeHours != nil && (*in.CancelNoticeHours < 0 || *in.CancelNoticeHours > MaxCancelNoticeHours) {
		return Settings{}, invalid("cancel_notice_hours", "The cancellation notice must be 0 to "+itoa(MaxCancelNoticeHours)+" hours.")
	}
	if in.TimeZone != nil && !validTimeZone(*in.TimeZone) {
		return Settings{}, invalid("time_zone", "time_zone is not an IANA time zone name such as Europe/London")
	}
	if in.Currency != nil {
		if _, err := currency.ParseISO(*in.Currency); err != nil || !currencyCode.MatchString(*in.Currency) {
			return Settings{}, invalid("currency", "currency is not an ISO 4217 code such as GBP")
		}
	}
	var out Settings
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		cur, err := readSettings(ctx, tx, p.Tenant)
		if err != nil {
			return err
		}
		if in.TimeZone != nil {
			var known bool
			if err := tx.QueryRow(ctx, `select exists (select 1 from pg_timezone_names where name = $1)`, *in.TimeZone).Scan(&known); err != nil {
				return err
			}
			if !known {
				return invalid("time_zone", "time_zone is not an IANA time zone name such as Europe/London")
			}
		}
		if in.Currency != nil && *in.Currency != cur.Currency {
			var invoiced bool
			if err := tx.QueryRow(ctx, `select exists (select 1 from invoices where clinic_id = $1)`, p.Tenant).Scan(&invoiced); err != nil {
				return err
			}
			if invoiced {
				return conflict("currency_locked", "The currency cannot change once the clinic has invoices.")
			}
		}
		if hours == nil {
			hours = cur.OpeningHours
		}
		if closures == nil {
			closures = cur.Closures
		}
		hb, _ := json.Marshal(hours)
		cb, _ := json.Marshal(closures)
		if address == nil {
			address = &cur.Address
		}
		if _, err := tx.Exec(ctx, `insert into clinic_settings (clinic_id, opening_hours, closures, address, updated_at)
			values ($1, $2, $3, $4, now())
			on conflict (clinic_id) do update set opening_hours = excluded.opening_hours, closures = excluded.closures,
				address = excluded.address, updated_at = now()`,
			p.Tenant, string(hb), string(cb), *address); err != nil {
			return err
		}
		if in.CancelNoticeHours != nil {
			if _, err := tx.Exec(ctx, `update clinic_settings set cancel_notice_hours = $2 where clinic_id = $1`,
				p.Tenant, *in.CancelNoticeHours); err != nil {
				return err
			}
		}
		if (in.TimeZone != nil && *in.TimeZone != cur.TimeZone) || (in.Currency != nil && *in.Currency != cur.Currency) {
			err := s.db.System(ctx, "clinic settings: the clinic's owner changes its own time zone or currency", func(sys *tenantdb.SystemTx) error {
				tag, err := sys.Exec(ctx, `update clinics set time_zone = coalesce($2, time_zone), currency = coalesce($3, currency)
					where id = $1`, p.Tenant, in.TimeZone, in.Currency)
				if err == nil && tag.RowsAffected() != 1 {
					err = errors.New("the clinic is missing from the registry")
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		if err := record(ctx, tx, "settings.update", "clinic", p.Tenant); err != nil {
			return err
		}
		out, err = readSettings(ctx, tx, p.Tenant)
		return err
	})
	return out, wrap("update settings", err)
}

// Fee is one line of the clinic's fee schedule. PriceMinor is in the
// minor unit of Currency (pence, cents), never a float.
type Fee struct {
	ClinicID    tenancy.ID `json:"clinic_id"`
	Code        string     `json:"code"`
	Description string     `json:"description"`
	PriceMinor  int64      `json:"price_minor"`
	Currency    string     `json:"currency"`
}

// FeeInput is one line of a new fee schedule.
type FeeInput struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	PriceMinor  int64  `json:"price_minor"`
}

var feeScheduleCode = regexp.MustCompile(`^[A-Za-z0-9._-]{1,20}$`)

const (
	maxFees       = 500
	maxPriceMinor = 10_000_000_000 // 100 million in major units of a two-decimal currency
)

// Fees returns the caller's clinic's fee schedule ordered by code.
func (s *Store) Fees(ctx context.Context) ([]Fee, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `select f.clinic_id, f.code, f.description, f.price_minor, c.currency
		from fee_schedule f join clinics c on c.id = f.clinic_id where f.clinic_id = $1 order by f.code`, p.Tenant)
	if err != nil {
		return nil, wrap("fees", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Fee, error) {
		var f Fee
		err := r.Scan(&f.ClinicID, &f.Code, &f.Description, &f.PriceMinor, &f.Currency)
		return f, err
	})
	return list, wrap("fees", err)
}

// ReplaceFees replaces the caller's clinic's fee schedule with list.
// Invoice lines copy their code, description and price, so issued
// invoices do not change.
func (s *Store) ReplaceFees(ctx context.Context, list []FeeInput) ([]Fee, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) > maxFees {
		return nil, invalid("items", "a fee schedule has at most "+itoa(maxFees)+" lines")
	}
	codes := make([]string, len(list))
	descs := make([]string, len(list))
	prices := make([]int64, len(list))
	seen := map[string]bool{}
	for i, f := range list {
		if !feeScheduleCode.MatchString(f.Code) {
			return nil, invalid("code", "codes are 1 to 20 letters, digits, dots, dashes or underscores")
		}
		if seen[strings.ToUpper(f.Code)] {
			return nil, invalid("code", "the code "+f.Code+" appears twice")
		}
		seen[strings.ToUpper(f.Code)] = true
		if err := textField("description", &f.Description, 1, 200); err != nil {
			return nil, err
		}
		if f.PriceMinor < 0 || f.PriceMinor > maxPriceMinor {
			return nil, invalid("price_minor", "price_minor must be between 0 and "+itoa(maxPriceMinor))
		}
		codes[i], descs[i], prices[i] = f.Code, f.Description, f.PriceMinor
	}
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		if _, err := tx.Exec(ctx, `delete from fee_schedule where clinic_id = $1`, p.Tenant); err != nil {
			return err
		}
		if err := record(ctx, tx, "fee_schedule.replace", "clinic", p.Tenant); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into fee_schedule (clinic_id, code, description, price_minor)
			select $1, u.code, u.description, u.price_minor from unnest($2::text[], $3::text[], $4::bigint[]) as u(code, description, price_minor)`,
			p.Tenant, codes, descs, prices)
		return err
	})
	if err != nil {
		return nil, wrap("replace fees", err)
	}
	return s.Fees(ctx)
}

// Operatory is a chair. Chairs are never deleted: a hidden chair keeps its
// appointments and takes no new ones.
type Operatory struct {
	ID       tenancy.ID `json:"id"`
	ClinicID tenancy.ID `json:"clinic_id"`
	Name     string     `json:"name"`
	Hidden   bool       `json:"hidden"`
}

// OperatoryInput is a new chair or a change to one.
type OperatoryInput struct {
	Name   *string `json:"name"`
	Hidden *bool   `json:"hidden"`
}

func (in *OperatoryInput) validate(create bool) error {
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		in.Name = &n
	}
	if create && in.Name == nil {
		return invalid("name", "name is required")
	}
	return textField("name", in.Name, 1, 100)
}

func scanOperatory(row pgx.Row) (Operatory, error) {
	var o Operatory
	err := row.Scan(&o.ID, &o.ClinicID, &o.Name, &o.Hidden)
	return o, err
}

// chairNameTaken maps the unique name violation to a conflict.
func chairNameTaken(err error) error {
	if code, name := constraint(err); code == "23505" && name == "operatories_clinic_id_name_key" {
		return conflict("name_taken", "Another chair already has this name.")
	}
	return err
}

// ListOperatories returns the caller's clinic's chairs, hidden ones too,
// ordered by name.
func (s *Store) ListOperatories(ctx context.Context) ([]Operatory, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `select id, clinic_id, name, hidden from operatories where clinic_id = $1 order by name, id`, p.Tenant)
	if err != nil {
		return nil, wrap("list operatories", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Operatory, error) { return scanOperatory(r) })
	return list, wrap("list operatories", err)
}

// CreateOperatory adds a chair; ErrConflict "name_taken" if the name is in
// use.
func (s *Store) CreateOperatory(ctx context.Context, in OperatoryInput) (Operatory, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Operatory{}, err
	}
	if err := in.validate(true); err != nil {
		return Operatory{}, err
	}
	var o Operatory
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		o, err = scanOperatory(tx.QueryRow(ctx, `insert into operatories (clinic_id, id, name, hidden) values ($1, $2, $3, coalesce($4, false))
			returning id, clinic_id, name, hidden`, p.Tenant, tenancy.NewID(), *in.Name, in.Hidden))
		if err != nil {
			return chairNameTaken(err)
		}
		return record(ctx, tx, "operatory.create", "operatory", o.ID)
	})
	return o, wrap("create operatory", err)
}

// UpdateOperatory renames, hides or unhides a chair; hiding keeps its
// appointments.
func (s *Store) UpdateOperatory(ctx context.Context, id tenancy.ID, in OperatoryInput) (Operatory, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Operatory{}, err
	}
	if err := in.validate(false); err != nil {
		return Operatory{}, err
	}
	var o Operatory
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		o, err = scanOperatory(tx.QueryRow(ctx, `update operatories set name = coalesce($3, name), hidden = coalesce($4, hidden)
			where clinic_id = $1 and id = $2 returning id, clinic_id, name, hidden`, p.Tenant, id, in.Name, in.Hidden))
		if err != nil {
			return chairNameTaken(notFound(err))
		}
		return record(ctx, tx, "operatory.update", "operatory", id)
	})
	return o, wrap("update operatory", err)
}
