package store

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
)

func TestMinorArithmetic(t *testing.T) {
	for _, tc := range []struct {
		a, b     int64
		mul, add int64
		mulOK    bool
		addOK    bool
	}{
		{4500, 3, 13500, 4503, true, true},
		{0, 1000, 0, 1000, true, true},
		{math.MaxInt64, 1, math.MaxInt64, 0, true, false},
		{math.MaxInt64/2 + 1, 2, 0, math.MaxInt64/2 + 3, false, true},
		{-1, 2, 0, 0, false, false},
	} {
		if got, ok := mulMinor(tc.a, tc.b); ok != tc.mulOK || ok && got != tc.mul {
			t.Errorf("mulMinor(%d, %d) = %d, %v; want %d, %v", tc.a, tc.b, got, ok, tc.mul, tc.mulOK)
		}
		if got, ok := addMinor(tc.a, tc.b); ok != tc.addOK || ok && got != tc.add {
			t.Errorf("addMinor(%d, %d) = %d, %v; want %d, %v", tc.a, tc.b, got, ok, tc.add, tc.addOK)
		}
	}
}

func TestInvoiceInputValidate(t *testing.T) {
	patient := tenancy.NewID()
	lines := func(l ...InvoiceLineInput) []InvoiceLineInput { return l }
	many := make([]InvoiceLineInput, maxInvoiceLines+1)
	for i := range many {
		many[i] = InvoiceLineInput{Code: "EXAM", Quantity: 1}
	}
	for _, tc := range []struct {
		name  string
		in    InvoiceInput
		field string // "" when valid
	}{
		{"valid", InvoiceInput{patient, lines(InvoiceLineInput{"EXAM", 1}, InvoiceLineInput{"FILL-2.a_b", 1000})}, ""},
		{"no patient", InvoiceInput{Lines: lines(InvoiceLineInput{"EXAM", 1})}, "patient_id"},
		{"no lines", InvoiceInput{PatientID: patient}, "lines"},
		{"too many lines", InvoiceInput{patient, many}, "lines"},
		{"empty code", InvoiceInput{patient, lines(InvoiceLineInput{"EXAM", 1}, InvoiceLineInput{"", 1})}, "lines[1].code"},
		{"code with space", InvoiceInput{patient, lines(InvoiceLineInput{"EX AM", 1})}, "lines[0].code"},
		{"overlong code", InvoiceInput{patient, lines(InvoiceLineInput{strings.Repeat("A", 21), 1})}, "lines[0].code"},
		{"zero quantity", InvoiceInput{patient, lines(InvoiceLineInput{"EXAM", 0})}, "lines[0].quantity"},
		{"negative quantity", InvoiceInput{patient, lines(InvoiceLineInput{"EXAM", -3})}, "lines[0].quantity"},
		{"too many units", InvoiceInput{patient, lines(InvoiceLineInput{"EXAM", maxLineQuantity + 1})}, "lines[0].quantity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			invoiceWantInvalid(t, tc.in.validate(), tc.field)
		})
	}
}

func TestPrescriptionInputValidate(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	valid := func() PrescriptionInput {
		return PrescriptionInput{PatientID: tenancy.NewID(), Drug: str("Amoxicillin"), Strength: str("500 mg"), Form: str("capsule"),
			Directions: str("Three times a day."), Quantity: num(21)}
	}
	for _, tc := range []struct {
		name   string
		change func(*PrescriptionInput)
		field  string
	}{
		{"valid", func(*PrescriptionInput) {}, ""},
		{"twelve refills", func(in *PrescriptionInput) { in.Refills = num(12) }, ""},
		{"no patient", func(in *PrescriptionInput) { in.PatientID = tenancy.ID{} }, "patient_id"},
		{"no drug", func(in *PrescriptionInput) { in.Drug = nil }, "drug"},
		{"blank drug", func(in *PrescriptionInput) { in.Drug = str("   ") }, "drug"},
		{"overlong strength", func(in *PrescriptionInput) { in.Strength = str(strings.Repeat("m", 101)) }, "strength"},
		{"no form", func(in *PrescriptionInput) { in.Form = nil }, "form"},
		{"control characters", func(in *PrescriptionInput) { in.Directions = str("a\x1bb") }, "directions"},
		{"overlong notes", func(in *PrescriptionInput) { in.Notes = str(strings.Repeat("n", 2001)) }, "notes"},
		{"no quantity", func(in *PrescriptionInput) { in.Quantity = nil }, "quantity"},
		{"zero quantity", func(in *PrescriptionInput) { in.Quantity = num(0) }, "quantity"},
		{"thirteen refills", func(in *PrescriptionInput) { in.Refills = num(13) }, "refills"},
		{"negative refills", func(in *PrescriptionInput) { in.Refills = num(-1) }, "refills"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.change(&in)
			invoiceWantInvalid(t, in.validate(), tc.field)
		})
	}
}

// invoiceWantInvalid wants err nil when field is "", else an ErrInvalid naming
// field.
func invoiceWantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Errorf("got %v, want valid", err)
		}
		return
	}
	var se *Error
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) || se.Field != field {
		t.Errorf("got %#v, want ErrInvalid for %q", err, field)
	}
}
