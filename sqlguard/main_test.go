package sqlguard_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
