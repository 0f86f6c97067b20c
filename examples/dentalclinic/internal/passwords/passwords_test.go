package passwords

import (
	"errors"
	"strings"
	"testing"
)

func TestHashCheck(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id with the expected parameters", h)
	}
	if err := Check(h, "correct horse battery"); err != nil {
		t.Errorf("Check(right) = %v", err)
	}
	if err := Check(h, "correct horse batterY"); !errors.Is(err, ErrMismatch) {
		t.Errorf("Check(wrong) = %v, want ErrMismatch", err)
	}
	h2, _ := Hash("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=999999999,t=1,p=1$AA$AA", "plain"} {
		if err := Check(bad, "x"); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Check(%q) = %v, want ErrMalformedHash", bad, err)
		}
	}
	if err := CheckNone("x"); !errors.Is(err, ErrMismatch) {
		t.Errorf("CheckNone = %v", err)
	}
}
