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

// BenchmarkVerifyProvider measures Verify of an external provider's access
// token (discovery done, key set cached, claims mapped to a principal)
// beside golang-jwt alone parsing the same token with the same key
// (signature, exp, iss, aud, into MapClaims). Compare the ratio.
func BenchmarkVerifyProvider(b *testing.B) {
	for _, k := range []idpKey{
		{kid: "rsa-1", alg: "RS256", priv: idpRSA},
		{kid: "ec-1", alg: "ES256", priv: idpEC},
		{kid: "ed-1", alg: "EdDSA", priv: idpEd},
	} {
		f := newIdP(b, k)
		a := providerAuthority(b, jwtctx.NoRevocation, newProvider(b, f, auth0Mapping, nil))
		tok := f.sign(b, k, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside", "https://dental.example/roles": []string{"dentist"}}))
		ctx := context.Background()
		if _, err := a.Verify(ctx, tok, jwtctx.AccessToken); err != nil {
			b.Fatal(err)
		}
		b.Run("alg="+k.alg+"/jwtctx", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(ctx, tok, jwtctx.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+k.alg+"/baseline", func(b *testing.B) {
			b.ReportAllocs()
			p := jwt.NewParser(jwt.WithValidMethods([]string{k.alg}), jwt.WithIssuer(f.issuer),
				jwt.WithAudience("api://dental"), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return t0 }))
			pub := k.priv.Public()
			for b.Loop() {
				if _, err := p.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyProviderPaired runs the two sides of
// BenchmarkVerifyProvider alternately within one loop, in alternating
// order, so both see the same noise of a shared machine, and reports each
// side's time per verification and their ratio (jwtctx/baseline).
func BenchmarkVerifyProviderPaired(b *testing.B) {
	for _, k := range []idpKey{
		{kid: "rsa-1", alg: "RS256", priv: idpRSA},
		{kid: "ec-1", alg: "ES256", priv: idpEC},
		{kid: "ed-1", alg: "EdDSA", priv: idpEd},
	} {
		f := newIdP(b, k)
		a := providerAuthority(b, jwtctx.NoRevocation, newProvider(b, f, auth0Mapping, nil))
		tok := f.sign(b, k, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside", "https://dental.example/roles": []string{"dentist"}}))
		p := jwt.NewParser(jwt.WithValidMethods([]string{k.alg}), jwt.WithIssuer(f.issuer),
			jwt.WithAudience("api://dental"), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return t0 }))
		pub := k.priv.Public()
		ctx := context.Background()
		sdk := func() {
			if _, err := a.Verify(ctx, tok, jwtctx.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
		base := func() {
			if _, err := p.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("alg="+k.alg, func(b *testing.B) {
			var sdkTime, baseTime time.Duration
			n := 0
			for b.Loop() {
				first, second, t1, t2 := sdk, base, &sdkTime, &baseTime
				if n%2 == 1 {
					first, second, t1, t2 = base, sdk, &baseTime, &sdkTime
				}
				s := time.Now()
				first()
				m := time.Now()
				second()
				*t1 += m.Sub(s)
				*t2 += time.Since(m)
				n++
			}
			b.ReportMetric(float64(sdkTime.Nanoseconds())/float64(n), "jwtctx-ns/op")
			b.ReportMetric(float64(baseTime.Nanoseconds())/float64(n), "baseline-ns/op")
			b.ReportMetric(float64(sdkTime)/float64(baseTime), "ratio")
		})
	}
}
