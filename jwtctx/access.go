package jwtctx

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// MaxExternalTokenIDLength is the longest jti accepted in an external
// provider's token.
const MaxExternalTokenIDLength = 256

// verifyAccess verifies an external provider's access token, whose header
// h passed the allow-list; legacy says its typ is "JWT". See Verify.
func (a *Authority) verifyAccess(ctx context.Context, token string, h header, legacy bool, accept TokenType) (Token, error) {
	if accept&AccessToken == 0 {
		return Token{}, fmt.Errorf("%w: %s not accepted here", ErrType, AccessToken)
	}
	if a.providers == nil {
		return Token{}, fmt.Errorf("%w: access token, and no OpenID provider is configured", ErrIssuer)
	}
	if !slices.Contains(providerAlgorithms, Algorithm(h.Alg)) {
		// "none", HS256 and the rest fail before any key is looked up.
		return Token{}, fmt.Errorf("%w: alg %q", ErrAlgorithm, truncate(h.Alg, 16))
	}
	// The steps of jwt.Parser.ParseWithClaims, with golang-jwt's signing
	// methods and validator, on the header already decoded: the payload
	// is decoded once, and the signing input is not copied.
	dot1, dot2 := strings.IndexByte(token, '.'), strings.LastIndexByte(token, '.')
	payload, err := b64.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return Token{}, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	c := jwt.MapClaims{}
	if err := json.Unmarshal(payload, &c); err != nil || c == nil {
		return Token{}, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	sig, err := b64.DecodeString(token[dot2+1:])
	if err != nil {
		return Token{}, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	// The claims are not yet verified: iss only picks the provider whose
	// keys must verify the signature (and must equal its issuer exactly,
	// by the map lookup).
	prov, key, err := a.accessKey(ctx, c, h, legacy)
	if err != nil {
		return Token{}, err
	}
	if err := accessMethods[key.alg].Verify(token[:dot2], sig, key.pub); err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if err := a.accessValidator.Validate(c); err != nil {
		return Token{}, mapParseError(err)
	}

	bad := func(format string, args ...any) (Token, error) {
		return Token{}, fmt.Errorf("%w: "+format, append([]any{ErrClaims}, args...)...)
	}
	auds, err := c.GetAudience()
	if err != nil || len(auds) == 0 {
		return bad("no aud")
	}
	if !slices.Contains(auds, prov.cfg.Audience) {
		return Token{}, fmt.Errorf("%w: aud lacks the audience of %s", ErrAudience, prov.cfg.Issuer)
	}
	iat, err := c.GetIssuedAt()
	if err != nil || iat == nil {
		return bad("no iat")
	}
	exp, err := c.GetExpirationTime()
	if err != nil || exp == nil {
		return bad("no exp") // the parser requires it; hold the line here too
	}
	if life := exp.Sub(iat.Time); life <= 0 || life > prov.cfg.MaxLifetime {
		return bad("lifetime %v outside (0, %v] of %s", life, prov.cfg.MaxLifetime, prov.cfg.Issuer)
	}
	nbf := iat.Time
	if nb, err := c.GetNotBefore(); err != nil {
		return bad("nbf: %w", err)
	} else if nb != nil {
		nbf = nb.Time
	}
	jti, _ := c["jti"].(string)
	if jti == "" || len(jti) > MaxExternalTokenIDLength {
		return bad("jti missing, not a string or longer than %d", MaxExternalTokenIDLength)
	}
	if _, ok := c["act"]; ok {
		// RFC 8693 delegation: someone else acts for the subject. The
		// SDK models that only for its own audited impersonations.
		return bad("act claim in an access token")
	}

	p, err := prov.cfg.Claims.principal(c, a.cfg.Principals)
	if err != nil {
		return Token{}, err
	}
	if err := a.cfg.Principals.Check(p); err != nil {
		return bad("%w", err)
	}
	tok := Token{
		Type:      AccessToken,
		Issuer:    prov.cfg.Issuer,
		ID:        jti,
		KeyID:     h.Kid,
		Principal: p,
		IssuedAt:  iat.Time,
		NotBefore: nbf,
		ExpiresAt: exp.Time,
	}
	revoked, err := a.cfg.Revoker.Revoked(ctx, tok)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrRevocationCheck, err)
	}
	if revoked {
		return Token{}, ErrRevoked
	}
	return tok, nil
}

// accessKey picks the provider that c's iss names and its key that h's kid
// names, and checks that the token's alg is that key's.
func (a *Authority) accessKey(ctx context.Context, c jwt.MapClaims, h header, legacy bool) (*Provider, providerKey, error) {
	iss, _ := c["iss"].(string)
	p := a.providers[iss]
	if p == nil {
		if iss == "" {
			return nil, providerKey{}, fmt.Errorf("%w: access token without iss", ErrIssuer)
		}
		return nil, providerKey{}, fmt.Errorf("%w: %q is not a configured provider", ErrIssuer, truncate(iss, 64))
	}
	if legacy && !p.cfg.AllowJWTType {
		return nil, providerKey{}, fmt.Errorf("%w: typ %q from %s, which does not allow it (AllowJWTType)", ErrType, legacyAccessTyp, p.cfg.Issuer)
	}
	if !slices.Contains(p.algs, Algorithm(h.Alg)) {
		return nil, providerKey{}, fmt.Errorf("%w: alg %q not accepted for %s", ErrAlgorithm, h.Alg, p.cfg.Issuer)
	}
	k, err := p.key(ctx, h.Kid)
	if err != nil {
		return nil, providerKey{}, err
	}
	if string(k.alg) != h.Alg {
		return nil, providerKey{}, fmt.Errorf("%w: alg %q with kid %q (%s)", ErrAlgorithm, h.Alg, h.Kid, k.alg)
	}
	return p, k, nil
}

// accessMethods are golang-jwt's signing methods of providerAlgorithms.
var accessMethods = map[Algorithm]jwt.SigningMethod{
	RS256: jwt.SigningMethodRS256,
	PS256: jwt.SigningMethodPS256,
	ES256: jwt.SigningMethodES256,
	EdDSA: jwt.SigningMethodEdDSA,
}
