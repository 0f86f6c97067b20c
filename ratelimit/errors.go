package ratelimit

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/mydentalpractice/tenancy/jwtctx"
)

// ErrLimited is the error that an [*Error] matches with errors.Is: the
// tenant's request rate is over its limit.
var ErrLimited = errors.New("ratelimit: the tenant's request rate is over its limit")

// Code is the stable code of the answer to a refused request (the
// document's "code" member); package problem names it CodeRateLimited.
const Code = "rate_limited"

// Error is the refusal of one request by [Limiter.Allow]: RetryAfter is
// how long until the tenant's next request would be allowed. It matches
// [ErrLimited] with errors.Is, and package problem answers it as
// [Error.Problem] does.
type Error struct {
	RetryAfter time.Duration
}

// Error returns the text of [ErrLimited].
func (e *Error) Error() string { return ErrLimited.Error() }

// Is reports whether target is [ErrLimited].
func (e *Error) Is(target error) bool { return target == ErrLimited }

// RetryAfterSeconds is e.RetryAfter in whole seconds, rounded up, at least
// 1: the value of the Retry-After header.
func (e *Error) RetryAfterSeconds() int {
	s := math.Ceil(e.RetryAfter.Seconds())
	if s < 1 {
		return 1
	}
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(s)
}

// Problem returns the answer to e: 429 Too Many Requests, code [Code], a
// fixed detail, and Retry-After.
func (e *Error) Problem() jwtctx.Problem {
	return jwtctx.Problem{
		Status: http.StatusTooManyRequests,
		Title:  "Too Many Requests",
		Code:   Code,
		Detail: "Too many requests for this tenant. Try again after the time in Retry-After.",
		Header: http.Header{"Retry-After": {strconv.Itoa(e.RetryAfterSeconds())}},
	}
}
