package store

import "testing"

// TestAllergyClass: a drug warns against an allergy to its class or to
// a drug of its class, whole words only, in any case; unrelated drugs and
// allergies do not.
func TestAllergyClass(t *testing.T) {
	for _, tc := range []struct {
		drug      string
		allergies []string
		want      string
	}{
		{"Amoxicillin", []string{"Penicillin"}, "penicillins"},
		{"amoxicillin 500 mg", []string{"latex", "PENICILLINS (rash)"}, "penicillins"},
		{"Augmentin", []string{"amoxicillin"}, "penicillins"},
		{"Ibuprofen", []string{"Aspirin"}, "NSAIDs"},
		{"Co-trimoxazole", []string{"sulfa drugs"}, "sulfonamides"},
		{"Lidocaine", []string{"local anesthetic"}, "amide local anaesthetics"},
		{"Chlorhexidine mouthwash", []string{"chlorhexidine"}, "chlorhexidine"},
		{"Amoxicillin", []string{"Latex"}, ""},
		{"Clindamycin", []string{"Penicillin"}, ""},
		{"Paracetamol", []string{"Aspirin"}, ""},
		{"Amoxicillin", nil, ""},
		{"Cefalexin", []string{"penicillinase"}, ""}, // not the word penicillin
	} {
		if got := allergyClass(tc.drug, tc.allergies); got != tc.want {
			t.Errorf("allergyClass(%q, %q) = %q, want %q", tc.drug, tc.allergies, got, tc.want)
		}
	}
}
