package rls

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Spec is the JSON form of a [Generate] call, read by `tenancy rls
// generate --spec FILE`. The [Config] fields sit at the top level beside
// "tables":
//
//	{
//	  "owner_role": "tracker_owner",
//	  "app_role": "tracker_app",
//	  "platform_role": "tracker_platform",
//	  "tenant_column": "org_id",
//	  "tenant_key": "bigint",
//	  "kinds": [
//	    {"name": "member", "access": "tenant"},
//	    {"name": "guest", "access": "subject"},
//	    {"name": "support", "access": "operator"}
//	  ],
//	  "tables": [
//	    {"name": "public.orgs", "kind": "registry"},
//	    {"name": "public.projects", "read_only": ["guest"]},
//	    {"name": "public.tasks", "subject_column": "assignee_id", "read_only": ["guest"]},
//	    {"name": "audit.events", "read_roles": ["owner"], "privileges": ["SELECT", "INSERT"]}
//	  ]
//	}
//
// Field names are those of the json tags of Config and [Table].
type Spec struct {
	Config
	Tables []Table `json:"tables"`
}

// ParseSpec reads one JSON [Spec] from r. Unknown fields, trailing data and
// malformed values are errors wrapping [ErrInvalidSpec] (and, for a bad
// table kind, [ErrInvalidTable]), so a misspelt option fails instead of
// being ignored. ParseSpec does not validate names; [Generate] does.
func ParseSpec(r io.Reader) (Spec, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Spec{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if dec.More() {
		return Spec{}, fmt.Errorf("%w: trailing data after the spec", ErrInvalidSpec)
	}
	return s, nil
}
