package jwtctx

import (
	"context"
	"sync"
	"time"

	"github.com/mydentalpractice/tenancy"
)

// Revoker decides whether a token whose signature and claims verified has
// been revoked: by its id (jti) after a logout, by a per-subject not-before
// time after a password change or a disabled account, or by its
// impersonation grant once the grant ends. [Authority.Verify] calls it on
// every verification, after every other check passed.
//
// Revoked returns true to refuse the token, and an error when it cannot
// tell; both make verification fail (closed). Implementations must be safe
// for concurrent use and should be fast: they run on every request.
type Revoker interface {
	Revoked(ctx context.Context, tok Token) (bool, error)
}

// RevokerFunc adapts a function to a [Revoker].
type RevokerFunc func(ctx context.Context, tok Token) (bool, error)

// Revoked calls f(ctx, tok).
func (f RevokerFunc) Revoked(ctx context.Context, tok Token) (bool, error) { return f(ctx, tok) }

// NoRevocation is a [Revoker] that never revokes. Setting it in
// [Config.Revoker] is the explicit choice that tokens stay valid until they
// expire, whatever happens to the account.
var NoRevocation Revoker = RevokerFunc(func(context.Context, Token) (bool, error) { return false, nil })

// MemoryRevoker is an in-process [Revoker]: revoked token ids, per-subject
// not-before times and ended impersonation grants, held in maps. It suits a
// single instance and tests; a fleet needs a shared store behind its own
// Revoker. The zero value is ready to use and it is safe for concurrent use.
type MemoryRevoker struct {
	mu        sync.RWMutex
	ids       map[string]time.Time // jti -> token expiry, for pruning
	notBefore map[tenancy.ID]time.Time
	grants    map[tenancy.ID]bool
	pruneAt   int
}

// RevokeToken revokes the token with id jti. expires is the token's expiry
// ([Token.ExpiresAt]); the entry is forgotten some time after it, when the
// token could no longer verify anyway (measured by the wall clock, once
// more than 1024 ids are held).
func (m *MemoryRevoker) RevokeToken(jti string, expires time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = make(map[string]time.Time)
	}
	m.ids[jti] = expires
	if len(m.ids) > max(m.pruneAt, 1024) {
		cutoff := time.Now().Add(-MaxLeeway)
		for id, exp := range m.ids {
			if exp.Before(cutoff) {
				delete(m.ids, id)
			}
		}
		m.pruneAt = max(2*len(m.ids), 1024)
	}
}

// RevokeSubject revokes every token of subject issued at or before t (to
// the second, the precision of iat): tokens issued in the same second as t
// are revoked too, so none issued before the call survives.
func (m *MemoryRevoker) RevokeSubject(subject tenancy.ID, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notBefore == nil {
		m.notBefore = make(map[tenancy.ID]time.Time)
	}
	if t.After(m.notBefore[subject]) {
		m.notBefore[subject] = t
	}
}

// RevokeGrant revokes every impersonation token issued under grant.
func (m *MemoryRevoker) RevokeGrant(grant tenancy.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.grants == nil {
		m.grants = make(map[tenancy.ID]bool)
	}
	m.grants[grant] = true
}

// Revoked implements [Revoker]. It never fails.
func (m *MemoryRevoker) Revoked(_ context.Context, tok Token) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if _, ok := m.ids[tok.ID]; ok {
		return true, nil
	}
	if nb, ok := m.notBefore[tok.Principal.Subject]; ok && tok.IssuedAt.Unix() <= nb.Unix() {
		return true, nil
	}
	if imp := tok.Principal.Impersonation; imp != nil && m.grants[imp.GrantID] {
		return true, nil
	}
	return false, nil
}
