package audit

import (
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// declareSQL declares a transaction's principal, as the platform role's
// policies on the audit tables require.
var declareSQL = "SELECT set_config('" + rls.SettingPrincipal + "', $1, true)"

// declareSystem returns the argument of declareSQL for system work. No
// roles are carried, so encoding cannot fail.
func declareSystem() string {
	v, _ := rls.EncodePrincipal(tenancy.Principal{Kind: tenancy.KindSystem})
	return v
}
