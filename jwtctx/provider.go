package jwtctx

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/time/rate"
)

// Defaults and limits of [ProviderConfig]. A zero field takes the default;
// a value outside the limits is an error, not silently capped.
const (
	// DefaultJWKSRefreshInterval is how often a provider's key set is
	// fetched again, so that a key the provider removed stops verifying.
	DefaultJWKSRefreshInterval = 10 * time.Minute
	// MinJWKSRefreshInterval is the shortest refresh interval accepted.
	MinJWKSRefreshInterval = time.Second
	// MaxJWKSRefreshInterval is the longest refresh interval accepted: a
	// removed key verifies until the next refresh.
	MaxJWKSRefreshInterval = 24 * time.Hour

	// DefaultUnknownKeyRefreshInterval is the least time between two
	// fetches of the key set caused by tokens naming an unknown kid. It
	// bounds what a stream of tokens with made-up kids costs the provider.
	DefaultUnknownKeyRefreshInterval = 30 * time.Second

	// DefaultProviderHTTPTimeout bounds each request to the provider
	// (discovery and key set).
	DefaultProviderHTTPTimeout = 10 * time.Second

	// MaxProviderResponseSize is the largest discovery document or key
	// set read from a provider, in bytes.
	MaxProviderResponseSize = 512 << 10

	// MinRSAKeyBits is the smallest RSA modulus accepted from a provider
	// (RFC 7518 section 3.3).
	MinRSAKeyBits = 2048
	// MaxRSAKeyBits is the largest RSA modulus accepted, so a hostile key
	// set cannot make every verification slow.
	MaxRSAKeyBits = 8192

	// MaxExternalKeyIDLength is the longest kid accepted in an external
	// provider's token.
	MaxExternalKeyIDLength = 128
)

// The algorithms of external providers' tokens, besides [EdDSA] and
// [ES256]. The SDK never signs with them.
const (
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256, the default of most OpenID
	// providers.
	RS256 Algorithm = "RS256"
	// PS256 is RSASSA-PSS with SHA-256.
	PS256 Algorithm = "PS256"
)

// providerAlgorithms are the algorithms a provider's token may use, and
// the default of [ProviderConfig.Algorithms].
var providerAlgorithms = []Algorithm{RS256, PS256, ES256, EdDSA}

// ProviderConfig holds the settings of a [Provider]: which OpenID provider,
// which audience, and how its claims become a [tenancy.Principal]. Issuer,
// Audience and Claims are required; [NewProvider] validates it.
type ProviderConfig struct {
	// Issuer is the provider's issuer identifier, an https URL such as
	// "https://tenant.eu.auth0.com/" or
	// "https://id.example.com/realms/main". Discovery reads
	// Issuer + "/.well-known/openid-configuration" (a trailing slash is
	// not doubled), whose "issuer" must equal Issuer exactly (OpenID
	// Connect Discovery section 4.3), and a token's "iss" must too.
	// Required.
	Issuer string
	// Audience is the identifier of this API at the provider (Auth0's API
	// identifier, a Keycloak audience, a Zitadel project id); a token's
	// "aud" must contain it. Never the client id of a sign-in client:
	// ID tokens carry that one. Required.
	Audience string
	// Claims says how a token's claims become a principal. Required.
	Claims ClaimMapping

	// AllowJWTType accepts tokens whose typ header is "JWT" as well as
	// RFC 9068's "at+jwt". Keycloak, Zitadel and Auth0's default token
	// profile send "JWT", which an ID token carries too: with it set,
	// Audience is what tells an access token for this API from an ID
	// token, so it must not be a client id. Off by default.
	AllowJWTType bool
	// Algorithms are the signing algorithms accepted, a subset of
	// [RS256], [PS256], [ES256] and [EdDSA]. Empty means all four. A
	// token's alg must also equal the "alg" of the key its kid names.
	Algorithms []Algorithm
	// MaxLifetime bounds exp - iat of the provider's tokens. Zero means
	// [DefaultMaxLifetime]; above [MaxMaxLifetime] is an error.
	MaxLifetime time.Duration

	// HTTPClient makes the requests to the provider. Nil means a client
	// with no other settings. Its responses are read up to
	// [MaxProviderResponseSize], and redirects must stay on https.
	HTTPClient *http.Client
	// HTTPTimeout bounds each request. Zero means
	// [DefaultProviderHTTPTimeout].
	HTTPTimeout time.Duration
	// RefreshInterval is how often the key set is fetched again. Zero
	// means [DefaultJWKSRefreshInterval]; outside
	// [[MinJWKSRefreshInterval], [MaxJWKSRefreshInterval]] is an error.
	RefreshInterval time.Duration
	// UnknownKeyRefreshInterval is the least time between two fetches of
	// the key set caused by a token whose kid the cached set lacks (the
	// provider rotated its key). Zero means
	// [DefaultUnknownKeyRefreshInterval]; below a second is an error.
	UnknownKeyRefreshInterval time.Duration
	// OnRefreshError, if set, receives the errors of background key set
	// fetches, for logging. The cached keys stay in use when a fetch
	// fails or returns a set with a malformed key.
	OnRefreshError func(err error)
}

// Provider is an external OpenID provider whose access tokens an
// [Authority] accepts ([Config.Providers]): its discovered key set, cached
// and refreshed, and the mapping of its claims to principals. Build it with
// [NewProvider] and stop its background refresh with [Provider.Close]. It
// is safe for concurrent use.
type Provider struct {
	cfg  ProviderConfig
	algs []Algorithm
	// cached is the key set as last fetched; keys is the client around
	// it, which fetches the set again when asked for a kid it lacks.
	cached jwkset.Storage
	keys   jwkset.Storage
	// refreshing admits one lookup of an uncached kid at a time, so
	// requests that arrive with a new key while its set is being fetched
	// wait for that fetch instead of being refused by the rate limit.
	refreshing chan struct{}
	stop       context.CancelFunc
}

// NewProvider validates cfg, reads the provider's discovery document and
// key set, and returns a Provider that refreshes the key set every
// [ProviderConfig.RefreshInterval] and when a token names a kid it lacks
// (at most every [ProviderConfig.UnknownKeyRefreshInterval]), until
// [Provider.Close]. ctx bounds discovery; every request, the first key set
// fetch included, is bounded by [ProviderConfig.HTTPTimeout].
//
// It fails with an error wrapping [ErrConfig] for an invalid cfg, and
// [ErrProvider] when discovery fails, names another issuer or a key set
// URL that is not https, or the first key set cannot be read or holds a
// malformed key.
func NewProvider(ctx context.Context, cfg ProviderConfig) (*Provider, error) {
	cfg, algs, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client := providerClient(cfg.HTTPClient)
	jwksURI, err := discover(ctx, client, cfg.Issuer, cfg.HTTPTimeout)
	if err != nil {
		return nil, err
	}
	// The key set is fetched now and refreshed under bg, which lives
	// until Close. A first fetch that fails, or a set with a malformed
	// key, fails NewProvider: it never starts with no keys.
	bg, stop := context.WithCancel(context.Background())
	onErr := func(context.Context, error) {}
	if cfg.OnRefreshError != nil {
		onErr = func(_ context.Context, err error) {
			cfg.OnRefreshError(fmt.Errorf("%w: key set of %s: %w", ErrProvider, cfg.Issuer, err))
		}
	}
	remote, err := jwkset.NewStorageFromHTTP(jwksURI, jwkset.HTTPClientStorageOptions{
		Client:              client,
		Ctx:                 bg,
		HTTPTimeout:         cfg.HTTPTimeout,
		RefreshInterval:     cfg.RefreshInterval,
		RefreshErrorHandler: onErr,
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("%w: key set of %s: %w", ErrProvider, cfg.Issuer, err)
	}
	keys, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{jwksURI: remote},
		// A wait for the limiter longer than this fails at once, so a
		// token with an unknown kid never holds a request long.
		RateLimitWaitMax:  cfg.HTTPTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.UnknownKeyRefreshInterval), 1),
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("%w: key set of %s: %w", ErrProvider, cfg.Issuer, err)
	}
	return &Provider{cfg: cfg, algs: algs, cached: remote, keys: keys, refreshing: make(chan struct{}, 1), stop: stop}, nil
}

// Issuer returns the provider's issuer identifier.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Close stops the background refresh of the key set. Tokens still verify
// with the keys cached at that moment, and a token with an unknown kid
// still fetches the set. It is safe to call more than once.
func (p *Provider) Close() { p.stop() }

// withDefaults returns c with defaults applied and its algorithms, or an
// error wrapping ErrConfig.
func (c ProviderConfig) withDefaults() (ProviderConfig, []Algorithm, error) {
	bad := func(format string, args ...any) (ProviderConfig, []Algorithm, error) {
		return ProviderConfig{}, nil, fmt.Errorf("%w: provider: "+format, append([]any{ErrConfig}, args...)...)
	}
	if err := checkClaimString(c.Issuer); err != nil {
		return bad("Issuer: %w", err)
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return bad("Issuer %q is not an https URL without query, fragment or user", truncate(c.Issuer, 64))
	}
	if err := checkClaimString(c.Audience); err != nil {
		return bad("Audience: %w", err)
	}
	claims, err := c.Claims.withDefaults()
	if err != nil {
		return bad("Claims: %w", err)
	}
	c.Claims = claims
	algs := providerAlgorithms
	if len(c.Algorithms) > 0 {
		for _, a := range c.Algorithms {
			if !slices.Contains(providerAlgorithms, a) {
				return bad("algorithm %q is not one of RS256, PS256, ES256, EdDSA", truncate(string(a), 16))
			}
		}
		algs = slices.Clone(c.Algorithms)
	}
	c.Algorithms = nil
	switch {
	case c.MaxLifetime == 0:
		c.MaxLifetime = DefaultMaxLifetime
	case c.MaxLifetime < time.Second || c.MaxLifetime > MaxMaxLifetime:
		return bad("MaxLifetime %v outside [1s, %v]", c.MaxLifetime, MaxMaxLifetime)
	}
	switch {
	case c.HTTPTimeout == 0:
		c.HTTPTimeout = DefaultProviderHTTPTimeout
	case c.HTTPTimeout < 0:
		return bad("HTTPTimeout %v is negative", c.HTTPTimeout)
	}
	switch {
	case c.RefreshInterval == 0:
		c.RefreshInterval = DefaultJWKSRefreshInterval
	case c.RefreshInterval < MinJWKSRefreshInterval || c.RefreshInterval > MaxJWKSRefreshInterval:
		return bad("RefreshInterval %v outside [%v, %v]", c.RefreshInterval, MinJWKSRefreshInterval, MaxJWKSRefreshInterval)
	}
	switch {
	case c.UnknownKeyRefreshInterval == 0:
		c.UnknownKeyRefreshInterval = DefaultUnknownKeyRefreshInterval
	case c.UnknownKeyRefreshInterval < time.Second:
		return bad("UnknownKeyRefreshInterval %v below 1s", c.UnknownKeyRefreshInterval)
	}
	return c, algs, nil
}

// providerClient returns a copy of c (or of a zero client) whose responses
// are cut at MaxProviderResponseSize and whose redirects stay on https.
func providerClient(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	base := cp.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = limitTransport{base: base}
	next := cp.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return nil
	}
	return &cp
}

// limitTransport cuts every response body at MaxProviderResponseSize: a
// longer one fails to read, so a hostile endpoint cannot exhaust memory.
type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: MaxProviderResponseSize}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

var errResponseTooLarge = fmt.Errorf("response larger than %d bytes", MaxProviderResponseSize)

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more than allowed tells a long body from one of
		// exactly the limit.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errResponseTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// get fetches url with client, bounded by timeout, and returns the body of
// a 200 response.
func get(ctx context.Context, client *http.Client, u string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// discover reads the provider's discovery document and returns its key set
// URL, after checking that it names issuer exactly.
func discover(ctx context.Context, client *http.Client, issuer string, timeout time.Duration) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: discovery of %s: "+format, append([]any{ErrProvider, issuer}, args...)...)
	}
	body, err := get(ctx, client, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", timeout)
	if err != nil {
		return bad("%w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return bad("not a JSON object: %w", err)
	}
	if doc.Issuer != issuer {
		// A provider answering for another issuer (a misconfigured or
		// impersonating one): its keys say nothing about this issuer.
		return bad("document names issuer %q", truncate(doc.Issuer, 64))
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return bad("jwks_uri %q is not an https URL", truncate(doc.JWKSURI, 64))
	}
	return doc.JWKSURI, nil
}

// providerKey is a public key of a provider, with its one algorithm.
type providerKey struct {
	alg Algorithm
	pub any
}

// key returns the provider's key named kid, checked: a signing key with an
// alg among the accepted ones that fits the key's type and size.
func (p *Provider) key(ctx context.Context, kid string) (providerKey, error) {
	if !validExternalKeyID(kid) {
		// A malformed kid never makes the key set be fetched again.
		return providerKey{}, fmt.Errorf("%w: malformed kid", ErrUnknownKey)
	}
	j, err := p.lookup(ctx, kid)
	if err != nil {
		if errors.Is(err, jwkset.ErrKeyNotFound) {
			return providerKey{}, fmt.Errorf("%w: %q not in the key set of %s", ErrUnknownKey, kid, p.cfg.Issuer)
		}
		return providerKey{}, fmt.Errorf("%w: %q: %w", ErrUnknownKey, kid, err)
	}
	m := j.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return providerKey{}, fmt.Errorf("%w: key %q has use %q, not \"sig\"", ErrKey, kid, truncate(string(m.USE), 16))
	}
	alg := Algorithm(m.ALG)
	if alg == "" {
		// An RSA key could be RS256 or PS256: the key set must say.
		return providerKey{}, fmt.Errorf("%w: key %q names no alg", ErrKey, kid)
	}
	if !slices.Contains(p.algs, alg) {
		return providerKey{}, fmt.Errorf("%w: key %q has alg %q, not accepted for %s", ErrAlgorithm, kid, truncate(string(alg), 16), p.cfg.Issuer)
	}
	ok := false
	switch pub := j.Key().(type) {
	case *rsa.PublicKey:
		ok = (alg == RS256 || alg == PS256) && pub.N.BitLen() >= MinRSAKeyBits && pub.N.BitLen() <= MaxRSAKeyBits
	case *ecdsa.PublicKey:
		ok = alg == ES256 && pub.Curve == elliptic.P256()
	case ed25519.PublicKey:
		ok = alg == EdDSA && len(pub) == ed25519.PublicKeySize
	}
	if !ok {
		// Includes a private key published by mistake: it is not a
		// public key type, and the provider must fix its key set.
		return providerKey{}, fmt.Errorf("%w: key %q does not fit its alg %q (type, curve or size)", ErrKey, kid, alg)
	}
	return providerKey{alg: alg, pub: j.Key()}, nil
}

// lookup returns the JWK named kid: from the cached set, or, when it is
// not there, after the client has fetched the set again (rate-limited).
// One uncached lookup runs at a time; the ones waiting look in the cache
// again first, where the fetch they waited for may have put the key.
func (p *Provider) lookup(ctx context.Context, kid string) (jwkset.JWK, error) {
	j, err := p.cached.KeyRead(ctx, kid)
	if !errors.Is(err, jwkset.ErrKeyNotFound) {
		return j, err
	}
	select {
	case p.refreshing <- struct{}{}:
	case <-ctx.Done():
		return jwkset.JWK{}, ctx.Err()
	}
	defer func() { <-p.refreshing }()
	if j, err := p.cached.KeyRead(ctx, kid); !errors.Is(err, jwkset.ErrKeyNotFound) {
		return j, err
	}
	return p.keys.KeyRead(ctx, kid)
}

// validExternalKeyID accepts 1 to MaxExternalKeyIDLength printable ASCII
// characters other than space, quote and backslash: what providers use
// (base64, hex, UUIDs, numbers), and safe to quote in an error.
func validExternalKeyID(kid string) bool {
	if kid == "" || len(kid) > MaxExternalKeyIDLength {
		return false
	}
	for i := 0; i < len(kid); i++ {
		if c := kid[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
