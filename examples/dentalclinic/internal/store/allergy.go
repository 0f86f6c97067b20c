package store

import (
	"slices"
	"strings"
)

// drugClass is a class of drugs that patients are allergic to as a whole:
// a recorded allergy to the class, or to any drug in it, warns against
// every drug in it.
type drugClass struct {
	name    string   // as the warning says it
	aliases []string // how an allergy to the class itself is written
	drugs   []string // the class's drugs, generic and common brand names
}

// drugClasses is the small built-in table the prescribing check reads:
// the classes behind most drug allergies met in a dental practice. Names
// are lower case; a drug or an allergy matches when it contains one as a
// word.
var drugClasses = []drugClass{
	{"penicillins", []string{"penicillin", "penicillins", "beta-lactam", "beta lactam"},
		[]string{"penicillin", "amoxicillin", "amoxycillin", "ampicillin", "augmentin", "co-amoxiclav", "dicloxacillin",
			"flucloxacillin", "cloxacillin", "piperacillin", "phenoxymethylpenicillin", "benzylpenicillin"}},
	{"cephalosporins", []string{"cephalosporin", "cephalosporins"},
		[]string{"cefalexin", "cephalexin", "cefadroxil", "cefuroxime", "cefaclor", "ceftriaxone", "cefazolin", "keflex"}},
	{"macrolides", []string{"macrolide", "macrolides"},
		[]string{"erythromycin", "azithromycin", "clarithromycin", "zithromax"}},
	{"sulfonamides", []string{"sulfa", "sulfonamide", "sulfonamides", "sulphonamide", "sulphonamides"},
		[]string{"sulfamethoxazole", "co-trimoxazole", "trimethoprim-sulfamethoxazole", "bactrim", "septra"}},
	{"tetracyclines", []string{"tetracycline", "tetracyclines"},
		[]string{"tetracycline", "doxycycline", "minocycline"}},
	{"NSAIDs", []string{"nsaid", "nsaids", "anti-inflammatory", "anti-inflammatories"},
		[]string{"ibuprofen", "naproxen", "diclofenac", "aspirin", "ketorolac", "celecoxib", "advil", "nurofen", "aleve"}},
	{"opioids", []string{"opioid", "opioids", "opiate", "opiates"},
		[]string{"codeine", "hydrocodone", "oxycodone", "tramadol", "morphine", "vicodin", "percocet"}},
	{"amide local anaesthetics", []string{"local anaesthetic", "local anesthetic", "amide anaesthetic", "amide anesthetic"},
		[]string{"lidocaine", "lignocaine", "articaine", "mepivacaine", "prilocaine", "bupivacaine"}},
	{"clindamycin", []string{"clindamycin", "lincosamide", "lincosamides"}, []string{"clindamycin", "cleocin"}},
	{"metronidazole", []string{"metronidazole", "nitroimidazole"}, []string{"metronidazole", "flagyl"}},
}

// allergyClass returns the name of the drug class of drug that one of
// allergies names (the class itself, or one of its drugs), or "" when
// none does. Drugs outside the table match an allergy that names them.
func allergyClass(drug string, allergies []string) string {
	d := words(drug)
	for _, c := range drugClasses {
		if !slices.ContainsFunc(c.drugs, func(x string) bool { return contains(d, x) }) {
			continue
		}
		for _, a := range allergies {
			a := words(a)
			if slices.ContainsFunc(c.aliases, func(x string) bool { return contains(a, x) }) ||
				slices.ContainsFunc(c.drugs, func(x string) bool { return contains(a, x) }) {
				return c.name
			}
		}
	}
	for _, a := range allergies {
		if a := strings.TrimSpace(strings.ToLower(a)); len(a) >= 4 && contains(d, a) {
			return a
		}
	}
	return ""
}

// words is s in lower case with every character that is not a letter,
// a digit or a hyphen made a space, and a space at each end, so that
// contains matches whole words.
func words(s string) string {
	var b strings.Builder
	b.WriteByte(' ')
	for _, r := range strings.ToLower(s) {
		if r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f {
			b.WriteRune(r)
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte(' ')
	return b.String()
}

// contains reports whether the words w (from words) hold phrase as whole
// words.
func contains(w, phrase string) bool { return strings.Contains(w, words(phrase)) }
