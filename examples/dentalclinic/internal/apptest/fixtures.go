package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
)

// FeeLine is an invoice line of the API's POST /api/v1/invoices body: a
// fee schedule code and a quantity.
func FeeLine(code string, qty int) map[string]any {
	return map[string]any{"code": code, "quantity": qty}
}

// Fees reads clinic's fee schedule (code to price in minor units) as the
// superuser; a clinic without one fails the test.
func (a *App) Fees(t testing.TB, clinic tenancy.ID) map[string]int64 {
	t.Helper()
	rows, err := a.SuperConn(t).Query(context.Background(), `select code, price_minor from fee_schedule where clinic_id = $1`, clinic)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	fees := map[string]int64{}
	for rows.Next() {
		var code string
		var price int64
		if err := rows.Scan(&code, &price); err != nil {
			t.Fatal(err)
		}
		fees[code] = price
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(fees) == 0 {
		t.Fatalf("clinic %v has no fee schedule", clinic)
	}
	return fees
}

// PrescriptionBody is a valid POST /api/v1/prescriptions body for patient:
// amoxicillin, prescribed two days ago.
func PrescriptionBody(patient tenancy.ID) map[string]any {
	return map[string]any{
		"patient_id": patient, "drug": "Amoxicillin", "strength": "500 mg", "form": "capsule",
		"directions": "One capsule three times a day for seven days.", "quantity": 21, "refills": 1,
		"prescribed_on": time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly), "notes": "Take with food.",
	}
}
