package jwtctx_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// BenchmarkVerify measures Verify per algorithm, beside a baseline of bare
// golang-jwt parsing of the same token (signature, exp, iss, aud; no
// header allow-list, typ, tenant or principal checks). Compare the ratio
// jwtctx/baseline, not absolute times.
func BenchmarkVerify(b *testing.B) {
	for _, tt := range []struct {
		key    jwtctx.Key
		method string
		verify any
	}{
		{edKey, "EdDSA", edPriv.Public()},
		{ecKey, "ES256", &ecPriv.PublicKey},
		{hsKey, "HS256", hsSecret},
	} {
		a := newAuthority(b, tt.key, &jwtctx.MemoryRevoker{})
		tok := issue(b, a, staffPrincipal, time.Hour)
		b.Run("alg="+tt.method+"/jwtctx", func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				if _, err := a.Verify(ctx, tok, jwtctx.SessionToken); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+tt.method+"/baseline", func(b *testing.B) {
			b.ReportAllocs()
			p := jwt.NewParser(jwt.WithValidMethods([]string{tt.method}), jwt.WithIssuer(testIssuer),
				jwt.WithAudience(testAudience), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return t0 }))
			for b.Loop() {
				if _, err := p.Parse(tok, func(*jwt.Token) (any, error) { return tt.verify, nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
