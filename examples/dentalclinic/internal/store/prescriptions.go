package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Prescription is a prescription written by a dentist of the clinic.
// Prescriptions are voided, never deleted: Status is "active" or "void".
type Prescription struct {
	ID           tenancy.ID `json:"id"`
	ClinicID     tenancy.ID `json:"clinic_id"`
	PatientID    tenancy.ID `json:"patient_id"`
	DentistID    tenancy.ID `json:"dentist_id"`
	Drug         string     `json:"drug"`
	Strength     string     `json:"strength"`
	Form         string     `json:"form"`
	Directions   string     `json:"directions"`
	Quantity     int        `json:"quantity"`
	Refills      int        `json:"refills"`
	PrescribedOn Date       `json:"prescribed_on"`
	Notes        string     `json:"notes"`
	Status       string     `json:"status"`
	VoidedAt     *time.Time `json:"voided_at"`
	VoidReason   *string    `json:"void_reason"`
	// AllergyOverride is the dentist's reason for prescribing a drug whose
	// class matches one of the patient's recorded allergies; nil when
	// none matched.
	AllergyOverride *string   `json:"allergy_override"`
	CreatedAt       time.Time `json:"created_at"`
}

// PrescriptionInput is a new prescription. The prescribing dentist is the
// caller; PrescribedOn defaults to today in the clinic's time zone.
type PrescriptionInput struct {
	PatientID    tenancy.ID `json:"patient_id"`
	Drug         *string    `json:"drug"`
	Strength     *string    `json:"strength"`
	Form         *string    `json:"form"`
	Directions   *string    `json:"directions"`
	Quantity     *int       `json:"quantity"`
	Refills      *int       `json:"refills"`
	PrescribedOn *Date      `json:"prescribed_on"`
	Notes        *string    `json:"notes"`
	// AllergyOverride is the reason to prescribe although the drug's
	// class matches one of the patient's recorded allergies; without it
	// such a prescription is refused (409 "allergy").
	AllergyOverride *string `json:"allergy_override"`
}

// PrescriptionFilter narrows a prescription list.
type PrescriptionFilter struct {
	PatientID tenancy.ID // zero: every patient
	Cursor    string
	Limit     int
}

// PrescriberRole is the role that may prescribe.
const PrescriberRole = "dentist"

const prescriptionColumns = `id, clinic_id, patient_id, dentist_id, drug, strength, form, directions, quantity, refills,
	prescribed_on, notes, voided_at, void_reason, allergy_override, created_at`

func scanPrescription(row pgx.Row) (Prescription, error) {
	var rx Prescription
	err := row.Scan(&rx.ID, &rx.ClinicID, &rx.PatientID, &rx.DentistID, &rx.Drug, &rx.Strength, &rx.Form, &rx.Directions,
		&rx.Quantity, &rx.Refills, &rx.PrescribedOn.Time, &rx.Notes, &rx.VoidedAt, &rx.VoidReason, &rx.AllergyOverride, &rx.CreatedAt)
	rx.Status = "active"
	if rx.VoidedAt != nil {
		rx.Status = "void"
	}
	return rx, err
}

// ListPrescriptions returns the clinic's prescriptions, most recent first,
// a page at a time.
func (s *Store) ListPrescriptions(ctx context.Context, f PrescriptionFilter) ([]Prescription, string, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, "", err
	}
	var after struct {
		On Date
		ID tenancy.ID
	}
	if err := decodeCursor(f.Cursor, &after); err != nil {
		return nil, "", err
	}
	limit := pageLimit(f.Limit)
	args := []any{p.Tenant}
	where := ""
	if !f.PatientID.IsZero() {
		args = append(args, f.PatientID)
		where += ` and patient_id = $` + itoa(len(args))
	}
	ks := keyset{cols: []string{"prescribed_on", "id"}, params: []string{"%s::date"}, desc: true}
	if !after.ID.IsZero() {
		var cond string
		cond, args = ks.after(args, after.On.Time, after.ID)
		where += cond
	}
	return queryPage(ctx, s, "list prescriptions", `select `+prescriptionColumns+` from prescriptions where clinic_id = $1`+where, args, ks, limit,
		func(r pgx.CollectableRow) (Prescription, error) { return scanPrescription(r) },
		func(last Prescription) any {
			after.On, after.ID = last.PrescribedOn, last.ID
			return after
		})
}

// Prescription returns one prescription of the caller's clinic, or
// ErrNotFound. Opening one is recorded in the clinic's audit log.
func (s *Store) Prescription(ctx context.Context, id tenancy.ID) (Prescription, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Prescription{}, err
	}
	return viewRecord(ctx, s, "get prescription", `select `+prescriptionColumns+` from prescriptions where clinic_id = $1 and id = $2`,
		scanPrescription, "prescription.view", "prescription", p.Tenant, id)
}

func (in PrescriptionInput) validate() error {
	if in.PatientID.IsZero() {
		return invalid("patient_id", "patient_id is required")
	}
	for _, f := range []struct {
		name     string
		v        *string
		min, max int
	}{
		{"drug", in.Drug, 1, 200}, {"strength", in.Strength, 1, 100}, {"form", in.Form, 1, 100},
		{"directions", in.Directions, 1, 1000}, {"notes", in.Notes, 0, 2000}, {"allergy_override", in.AllergyOverride, 0, 500},
	} {
		if f.v == nil && f.min > 0 {
			return invalid(f.name, f.name+" is required")
		}
		if err := textField(f.name, f.v, f.min, f.max); err != nil {
			return err
		}
		if f.min > 0 && strings.TrimSpace(*f.v) == "" {
			return invalid(f.name, f.name+" is required")
		}
	}
	if in.AllergyOverride != nil && strings.TrimSpace(*in.AllergyOverride) == "" {
		return invalid("allergy_override", "allergy_override needs a reason")
	}
	if in.Quantity == nil || *in.Quantity < 1 || *in.Quantity > 10000 {
		return invalid("quantity", "quantity must be 1 to 10000")
	}
	if in.Refills != nil && (*in.Refills < 0 || *in.Refills > 12) {
		return invalid("refills", "refills must be 0 to 12")
	}
	return nil
}

// CreatePrescription writes a prescription for a patient of the caller's
// clinic. Only a dentist may prescribe: the caller must be a staff member
// with the dentist role, and is recorded as the prescribing dentist. A
// prescription may not be dated after today in the clinic's time zone.
//
// A drug whose class matches one of the patient's recorded allergies (the
// built-in table of drug classes, allergy.go) is refused with a conflict
// "allergy" naming the class, unless in.AllergyOverride gives a reason:
// the reason is kept with the prescription, and the clinic's audit log
// records "prescription.allergy_override" (the action alone, never the
// reason's words). An override given where nothing matched is refused, so
// no prescription carries a reason for a warning that never was.
func (s *Store) CreatePrescription(ctx context.Context, in PrescriptionInput) (Prescription, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Prescription{}, err
	}
	if p.Kind != kinds.Staff || !p.HasRole(PrescriberRole) {
		return Prescription{}, invalid("", "only a dentist may prescribe")
	}
	if err := in.validate(); err != nil {
		return Prescription{}, err
	}
	var rx Prescription
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var zone string
		if err := tx.QueryRow(ctx, `select time_zone from clinics where id = $1`, p.Tenant).Scan(&zone); err != nil {
			return err
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return err
		}
		today := DateOf(time.Now().In(loc))
		on := today
		if in.PrescribedOn != nil {
			on = *in.PrescribedOn
		}
		if on.After(today.Time) {
			return invalid("prescribed_on", "prescribed_on is in the future")
		}
		if on.Before(today.AddDate(-1, 0, 0)) {
			return invalid("prescribed_on", "prescribed_on is more than a year ago")
		}
		var allergies []string
		if err := tx.QueryRow(ctx, `select allergies from patients where clinic_id = $1 and id = $2`, p.Tenant, in.PatientID).Scan(&allergies); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return invalid("patient_id", "patient_id is not a patient of this clinic")
			}
			return err
		}
		class := allergyClass(*in.Drug, allergies)
		switch {
		case class != "" && in.AllergyOverride == nil:
			return &Error{Kind: ErrConflict, Code: "allergy", Field: "allergy_override",
				Msg:    "The patient has a recorded allergy to " + class + ", and " + strings.TrimSpace(*in.Drug) + " is one of them. Prescribe something else, or give your reason for prescribing it anyway.",
				Detail: []map[string]string{{"drug_class": class}}}
		case class == "" && in.AllergyOverride != nil:
			return invalid("allergy_override", "allergy_override is only for a drug that matches a recorded allergy; none does")
		}
		rx, err = scanPrescription(tx.QueryRow(ctx, `insert into prescriptions (clinic_id, id, patient_id, dentist_id, drug, strength,
			form, directions, quantity, refills, prescribed_on, notes, allergy_override)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, 0), $11, coalesce($12, ''), $13)
			returning `+prescriptionColumns,
			p.Tenant, tenancy.NewID(), in.PatientID, p.Subject, in.Drug, in.Strength, in.Form, in.Directions, in.Quantity,
			in.Refills, on.Time, in.Notes, in.AllergyOverride))
		if err != nil {
			return patientFKInvalid(err)
		}
		if in.AllergyOverride != nil {
			if err := record(ctx, tx, "prescription.allergy_override", "prescription", rx.ID); err != nil {
				return err
			}
		}
		return record(ctx, tx, "prescription.create", "prescription", rx.ID)
	})
	return rx, wrap("create prescription", err)
}

// VoidPrescription voids a prescription with a reason; it is kept, never
// deleted. Voiding twice is a conflict.
func (s *Store) VoidPrescription(ctx context.Context, id tenancy.ID, reason string) (Prescription, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Prescription{}, err
	}
	if err := textField("reason", &reason, 1, 500); err != nil {
		return Prescription{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return Prescription{}, invalid("reason", "reason is required")
	}
	var rx Prescription
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var voided *time.Time
		err := tx.QueryRow(ctx, `select voided_at from prescriptions where clinic_id = $1 and id = $2 for update`, p.Tenant, id).Scan(&voided)
		if err != nil {
			return notFound(err)
		}
		if voided != nil {
			return conflict("already_void", "The prescription is already void.")
		}
		rx, err = scanPrescription(tx.QueryRow(ctx, `update prescriptions set voided_at = now(), void_reason = $3
			where clinic_id = $1 and id = $2 returning `+prescriptionColumns, p.Tenant, id, reason))
		if err != nil {
			return err
		}
		return record(ctx, tx, "prescription.void", "prescription", id)
	})
	return rx, wrap("void prescription", err)
}
