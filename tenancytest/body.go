package tenancytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mydentalpractice/tenancy"
)

// bodyField is one string of a JSON body that holds an id the prober
// knows: a fixture's, or the actor's tenant.
type bodyField struct {
	path    []any    // object keys (string) and array indexes (int) down to the string
	fixture *Fixture // the fixture whose id it holds; nil for the tenant
}

// pointer returns the field's JSON Pointer (RFC 6901), for messages.
func (f bodyField) pointer() string {
	var b strings.Builder
	for _, p := range f.path {
		b.WriteByte('/')
		switch k := p.(type) {
		case string:
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(k))
		case int:
			b.WriteString(strconv.Itoa(k))
		}
	}
	return b.String()
}

// bodyIDs sends the write method path as a, once for each field of body
// that holds an id the prober knows and each id of another tenant that
// may replace it (a fixture of the same kind foreign to a, or another
// tenant), with that field replaced, and once with a missing id there;
// it reports what [CheckBodyID] finds and returns the number of requests
// with a foreign id. A body that is not JSON is left alone.
func (p *httpProbe) bodyIDs(ctx context.Context, rt Route, a Actor, method, path string, body []byte) int {
	p.t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return 0
	}
	p.bodies++
	var fields []bodyField
	walkStrings(v, nil, func(at []any, s string) {
		at = append([]any(nil), at...)
		if !a.Principal.Tenant.IsZero() && s == a.Principal.Tenant.String() {
			fields = append(fields, bodyField{path: at})
			return
		}
		for i := range p.cfg.Fixtures {
			if p.cfg.Fixtures[i].ID == s {
				fields = append(fields, bodyField{path: at, fixture: &p.cfg.Fixtures[i]})
				return
			}
		}
	})
	sent := 0
	for _, fld := range fields {
		type foreignID struct {
			id     string
			tenant tenancy.ID
			f      *Fixture // nil when id is a tenant
		}
		var ids []foreignID
		if fld.fixture == nil {
			for _, tn := range p.tenants {
				if tn != a.Principal.Tenant {
					ids = append(ids, foreignID{tn.String(), tn, nil})
				}
			}
		} else {
			for i, f := range p.cfg.Fixtures {
				if f.Kind == fld.fixture.Kind && !a.owns(f) {
					ids = append(ids, foreignID{f.ID, f.Tenant, &p.cfg.Fixtures[i]})
				}
			}
		}
		for _, fid := range ids {
			sent++
			p.bodyID(ctx, rt, a, method, path, v, fld, fid.id, fid.tenant, fid.f)
		}
	}
	p.substitutions += sent
	return sent
}

// bodyID sends body v with fld replaced by id (of tenant, and fixture f
// when it is one) and with a missing id, and compares.
func (p *httpProbe) bodyID(ctx context.Context, rt Route, a Actor, method, path string, v any, fld bodyField, id string, tenant tenancy.ID, f *Fixture) {
	p.t.Helper()
	what := "tenant " + id
	if f != nil {
		what = fmt.Sprintf("%s %s of tenant %s", f.Kind, f.ID, f.Tenant)
	}
	ptr := fld.pointer()
	var before string
	if f != nil {
		var err error
		if before, err = p.cfg.Snapshot(ctx, *f); err != nil {
			p.fail(rt, a.Name, CheckBodyID, "snapshot of %s before the write with it at %s: %v", what, ptr, err)
			return
		}
	}
	foreignBody, err := json.Marshal(replaceAt(v, fld.path, id))
	if err != nil {
		p.t.Fatalf("%v", fmt.Errorf("tenancytest: re-encoding a body: %w", err)) // values of a decoded body always encode
		return
	}
	missingID := p.cfg.MissingID()
	missingBody, err := json.Marshal(replaceAt(v, fld.path, missingID))
	if err != nil {
		p.t.Fatalf("%v", fmt.Errorf("tenancytest: re-encoding a body: %w", err))
		return
	}
	theirs, err := p.do(ctx, rt, a, method, path, foreignBody)
	if err != nil {
		p.fail(rt, a.Name, CheckBodyID, "request with %s at %s failed: %v", what, ptr, err)
		return
	}
	missing, err := p.do(ctx, rt, a, method, path, missingBody)
	if err != nil {
		p.fail(rt, a.Name, CheckBodyID, "request with a missing id at %s failed: %v", ptr, err)
		return
	}
	nt, nm := p.normalize(theirs.body, id), p.normalize(missing.body, missingID)
	switch {
	case theirs.ok() && !missing.ok():
		p.fail(rt, a.Name, CheckBodyID, "with %s at %s of the body the write succeeded (%d %s), while a missing id there answers %d %s: the handler found the other tenant's object",
			what, ptr, theirs.status, clip(theirs.body), missing.status, clip(missing.body))
	case theirs.status != missing.status || theirs.ctype != missing.ctype || (!theirs.ok() && !bytes.Equal(nt, nm)):
		p.fail(rt, a.Name, CheckBodyID, "with %s at %s of the body the answer is %d %q %s; with a missing id there, %d %q %s",
			what, ptr, theirs.status, theirs.ctype, clip(theirs.body), missing.status, missing.ctype, clip(missing.body))
	}
	if theirs.ok() {
		if leak := p.foreignIn(a, theirs, tenant); leak != "" {
			p.fail(rt, a.Name, CheckBodyID, "with %s at %s of the body the %d answer carries %s: %s", what, ptr, theirs.status, leak, clip(theirs.body))
		}
	}
	if f != nil {
		after, err := p.cfg.Snapshot(ctx, *f)
		switch {
		case err != nil:
			p.fail(rt, a.Name, CheckBodyID, "snapshot of %s after the write with it at %s: %v", what, ptr, err)
		case after != before:
			p.fail(rt, a.Name, CheckBodyID, "the %d answer aside, %s changed when the body named it at %s:\nbefore: %s\nafter:  %s",
				theirs.status, what, ptr, clip([]byte(before)), clip([]byte(after)))
		}
	}
}

// foreignIn returns what of another tenant a successful answer r to a
// carries (a fixture foreign to a, the foreign tenant's id, another
// tenant in the tenant field), or "".
func (p *httpProbe) foreignIn(a Actor, r result, tenant tenancy.ID) string {
	for _, f := range p.cfg.Fixtures {
		if !a.owns(f) && containsID(r.body, f.ID) {
			return fmt.Sprintf("%s %s of tenant %s", f.Kind, f.ID, f.Tenant)
		}
	}
	if containsID(r.body, tenant.String()) {
		return "tenant " + tenant.String()
	}
	if p.cfg.TenantField == "" || a.Principal.Tenant.IsZero() {
		return ""
	}
	v, err := decodeJSON(r.body)
	if err != nil {
		return ""
	}
	leak := ""
	walkJSON(v, func(obj map[string]any) {
		if got, ok := obj[p.cfg.TenantField]; ok && leak == "" {
			if s, ok := jsonKey(got); ok && s == a.Principal.Tenant.String() {
				return
			}
			leak = fmt.Sprintf("%s %v", p.cfg.TenantField, got)
		}
	})
	return leak
}

// walkStrings calls fn with the path to every string in v.
func walkStrings(v any, at []any, fn func(at []any, s string)) {
	switch x := v.(type) {
	case string:
		fn(at, x)
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			walkStrings(x[k], append(at, k), fn)
		}
	case []any:
		for i, e := range x {
			walkStrings(e, append(at, i), fn)
		}
	}
}

// replaceAt returns a copy of v with the string at path replaced by s.
func replaceAt(v any, path []any, s string) any {
	if len(path) == 0 {
		return s
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		k := path[0].(string)
		out[k] = replaceAt(x[k], path[1:], s)
		return out
	case []any:
		out := append([]any(nil), x...)
		i := path[0].(int)
		out[i] = replaceAt(x[i], path[1:], s)
		return out
	}
	return v
}

// containsID reports whether id occurs in body as a whole token: not
// inside a longer run of letters, digits, '_' or '-', so the id 4 is not
// found in "42" or "2024-04-01" (small integer keys would otherwise be seen
// everywhere), while "/tasks/4", "4," and a JSON string or number 4 are.
func containsID(body []byte, id string) bool {
	if id == "" {
		return false
	}
	word := func(c byte) bool {
		return c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	for from := 0; ; {
		i := bytes.Index(body[from:], []byte(id))
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(id)
		if (start == 0 || !word(body[start-1]) || !word(id[0])) && (end == len(body) || !word(body[end]) || !word(id[len(id)-1])) {
			return true
		}
		from = start + 1
	}
}
