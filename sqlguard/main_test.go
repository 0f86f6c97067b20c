package sqlguard_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
