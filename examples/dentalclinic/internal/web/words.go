package web

import (
	"regexp"
	"strings"
)

// The store words its refusals for the API, whose clients know its field
// names (amount_minor, starts_at). A page's reader knows the form's
// labels instead: inWords rewrites the API's names into them, in the one
// place every form's refusal passes (formError).

// phrases are rewritten first, whole: they read badly word by word.
var phrases = strings.NewReplacer(
	"starts_at (or local_start)", "date and time",
	"give starts_at or local_start, not both", "give the date and time once",
	"local_start is written YYYY-MM-DDTHH:MM:SS, without an offset", "the date and time are not ones the form sends",
	"must be a positive integer in the currency's minor unit", "must be more than zero",
)

// fieldWords are the forms' words for the API's field names; a name not
// listed reads with its underscores as spaces.
var fieldWords = map[string]string{
	"amount_minor":       "amount",
	"price_minor":        "price",
	"duration_min":       "length",
	"patient_id":         "patient",
	"dentist_id":         "dentist",
	"hygienist_id":       "hygienist",
	"operatory_id":       "chair",
	"primary_dentist_id": "primary dentist",
	"starts_at":          "date and time",
	"local_start":        "date and time",
	"time_zone":          "time zone",
	"given_name":         "first name",
	"family_name":        "family name",
	"date_of_birth":      "date of birth",
	"allergy_override":   "reason to prescribe despite the allergy",
	"opening_hours":      "opening hours",
	"prescribed_on":      "date prescribed",
	"bank_transfer":      "bank transfer",
	"partly_paid":        "partly paid",
	"in_chair":           "in the chair",
	"no_show":            "no-show",
	"front_desk":         "front desk",
}

var apiName = regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`)

// inWords returns a store refusal in the words of the forms: no API field
// names, and the first letter a capital.
func inWords(msg string) string {
	msg = phrases.Replace(msg)
	msg = apiName.ReplaceAllStringFunc(msg, func(name string) string {
		if w, ok := fieldWords[name]; ok {
			return w
		}
		return strings.ReplaceAll(name, "_", " ")
	})
	if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg
}
