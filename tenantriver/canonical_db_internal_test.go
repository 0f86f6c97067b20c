package tenantriver

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestCanonicalJSONThroughJSONB: args as River encodes them (encoding/json)
// and as they read back from a jsonb column have one canonical form, so a
// seal made at insert verifies at work; and values that differ keep
// different forms.
func TestCanonicalJSONThroughJSONB(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t, pgtest.Admin)
	ctx := context.Background()
	rapid.Check(t, func(rt *rapid.T) {
		v := jsonValue(3).Draw(rt, "value")
		b, err := json.Marshal(v)
		if err != nil {
			rt.Fatal(err)
		}
		var back string
		if err := conn.QueryRow(ctx, "select $1::text::jsonb::text", string(b)).Scan(&back); err != nil {
			rt.Fatalf("jsonb of %s: %v", b, err)
		}
		want, err := canonicalJSON(b)
		if err != nil {
			rt.Fatal(err)
		}
		got, err := canonicalJSON([]byte(back))
		if err != nil {
			rt.Fatal(err)
		}
		if string(got) != string(want) {
			rt.Fatalf("Go's %s and jsonb's %s: canonical %s and %s", b, back, want, got)
		}
		var same bool
		other := jsonValue(3).Draw(rt, "other")
		ob, _ := json.Marshal(other)
		if err := conn.QueryRow(ctx, "select $1::text::jsonb = $2::text::jsonb", string(b), string(ob)).Scan(&same); err != nil {
			rt.Fatal(err)
		}
		oc, err := canonicalJSON(ob)
		if err != nil {
			rt.Fatal(err)
		}
		if same != (string(oc) == string(want)) {
			rt.Fatalf("jsonb says %s = %s is %v; canonical forms %s and %s", b, ob, same, want, oc)
		}
	})
}

// jsonValue generates what encoding/json can write: null, booleans,
// finite floats, integers, strings (no NUL, which jsonb refuses), arrays
// and objects, nested up to depth.
func jsonValue(depth int) *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		n := 6
		if depth > 0 {
			n = 8
		}
		switch rapid.IntRange(0, n-1).Draw(t, "kind") {
		case 0:
			return nil
		case 1:
			return rapid.Bool().Draw(t, "bool")
		case 2:
			f := rapid.Float64().Draw(t, "float")
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return 0.5
			}
			return f
		case 3:
			return rapid.Int64().Draw(t, "int")
		case 4, 5:
			return strings.ReplaceAll(rapid.String().Draw(t, "string"), "\x00", "")
		case 6:
			return rapid.SliceOfN(jsonValue(depth-1), 0, 4).Draw(t, "array")
		default:
			keys := rapid.SliceOfN(rapid.StringOfN(rapid.RuneFrom([]rune("ab<é\"\\\u2028\n")), 0, 3, -1), 0, 4).Draw(t, "keys")
			m := make(map[string]any, len(keys))
			for _, k := range keys {
				m[strings.ReplaceAll(k, "\x00", "")] = jsonValue(depth-1).Draw(t, "field")
			}
			return m
		}
	})
}
