package token

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// How a JWT access token is checked (RFC 7519, RFC 9068):
//
//  1. shape, before any parsing: at most 8 KiB, three segments of canonical unpadded
//     base64url. Go's decoder ignores newlines and non-zero trailing bits, and go-jose
//     re-encodes what it decoded before verifying, so without this check one signed token
//     could be presented in many byte forms;
//  2. the verified-token cache (cache.go): a hit skips steps 3-5;
//  3. jwt.ParseSigned with the API's algorithm allow-list (asymmetric only), exactly one
//     signature, typ absent or JWT / at+jwt;
//  4. the key: looked up ONLY by kid in the API's JWKS (jwks.go), or the JWKS's single key
//     fitting alg when the token has no kid; the jku, x5u, jwk and x5c headers are ignored;
//  5. claims: exp required, iss equal, aud containing one of the API's audiences (if any)
//     and its resource (if any, RFC 8707), nbf and iat honoured, all with the API's leeway;
//  6. required scopes, checked on every request (hit or miss) → insufficient_scope.
type jwtValidator struct {
	issuer         string
	audiences      jwt.Audience
	resource       string // when set, aud must contain it as well (RFC 8707)
	algs           []jose.SignatureAlgorithm
	leeway         time.Duration
	names          claimNames
	requiredScopes []string
	keys           *jwksCache
	// cache is nil when the factory's verified-token cache is disabled.
	cache       *cache
	cacheTTL    time.Duration
	fingerprint [sha256.Size]byte
	now         func() time.Time
}

// Validate implements Validator.
func (v *jwtValidator) Validate(ctx context.Context, token string) (*Identity, error) {
	if err := checkLength(token); err != nil {
		return nil, err
	}
	now := v.now()
	var key cacheKey
	if v.cache != nil {
		key = cacheKeyFor(&v.fingerprint, token)
		if id, ok := v.cache.get(key, now, v.keys.current()); ok {
			v.keys.refreshInBackgroundIfDue(now)
			return checkScopes(id, v.requiredScopes)
		}
	}
	id, set, terr := v.verify(ctx, token, now)
	if terr != nil {
		return nil, terr
	}
	if v.cache != nil {
		v.cache.put(key, id, cacheDeadline(now, v.cacheTTL, id.ExpiresAt), set, now)
	}
	return checkScopes(id, v.requiredScopes)
}

// verify does the full check (steps 1, 3-5) and returns the identity and the JWKS document
// whose key verified the signature.
func (v *jwtValidator) verify(ctx context.Context, token string, now time.Time) (*Identity, *jwksKeySet, *Error) {
	if !compactIsCanonical(token) {
		return nil, nil, invalid("not three segments of canonical base64url")
	}
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil {
		return nil, nil, invalid("parse: " + err.Error())
	}
	if len(tok.Headers) != 1 {
		return nil, nil, invalid("not exactly one signature")
	}
	header := tok.Headers[0]
	if !typAcceptable(header) {
		return nil, nil, invalid(fmt.Sprintf("typ %v is neither JWT nor at+jwt", header.ExtraHeaders[jose.HeaderType]))
	}
	keys, set, terr := v.keys.verificationKeys(ctx, header.KeyID, jose.SignatureAlgorithm(header.Algorithm))
	if terr != nil {
		return nil, nil, terr
	}
	var std jwt.Claims
	var all map[string]any
	err = errors.New("no candidate key")
	for i := range keys {
		if err = tok.Claims(keys[i].Key, &std, &all); err == nil {
			break
		}
	}
	if err != nil {
		return nil, nil, invalid("signature or payload: " + err.Error())
	}
	if std.Expiry == nil {
		return nil, nil, invalid("no exp claim")
	}
	expected := jwt.Expected{Issuer: v.issuer, AnyAudience: v.audiences, Time: now}
	if err := std.ValidateWithLeeway(expected, v.leeway); err != nil {
		if errors.Is(err, jwt.ErrExpired) {
			return nil, nil, expired()
		}
		return nil, nil, invalid("claims: " + err.Error())
	}
	if v.resource != "" && !std.Audience.Contains(v.resource) {
		return nil, nil, notForResource()
	}
	id := identityFromClaims(all, v.names)
	id.ExpiresAt = std.Expiry.Time()
	if std.IssuedAt != nil {
		id.IssuedAt = std.IssuedAt.Time()
	}
	return id, set, nil
}

// typAcceptable accepts a missing typ, or JWT / at+jwt (RFC 9068 §4), case-insensitively,
// with or without the "application/" prefix (RFC 7515 §4.1.9).
func typAcceptable(h jose.Header) bool {
	raw, present := h.ExtraHeaders[jose.HeaderType]
	if !present {
		return true
	}
	typ, ok := raw.(string)
	if !ok {
		return false
	}
	typ = strings.TrimPrefix(strings.ToLower(typ), "application/")
	return typ == "jwt" || typ == "at+jwt"
}

// compactIsCanonical reports whether token is exactly three dot-separated segments of
// canonical unpadded base64url: only the URL alphabet, no padding or whitespace, a length
// that is not 1 mod 4, and zero unused bits in the last character.
func compactIsCanonical(token string) bool {
	segments, start := 0, 0
	for i := 0; i <= len(token); i++ {
		if i < len(token) && token[i] != '.' {
			continue
		}
		segments++
		if segments > 3 || !segmentIsCanonical(token[start:i]) {
			return false
		}
		start = i + 1
	}
	return segments == 3
}

func segmentIsCanonical(s string) bool {
	if len(s)%4 == 1 {
		return false
	}
	var last byte
	for i := 0; i < len(s); i++ {
		v, ok := base64URLValue(s[i])
		if !ok {
			return false
		}
		last = v
	}
	switch len(s) % 4 {
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}

func base64URLValue(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26, true
	case c >= '0' && c <= '9':
		return c - '0' + 52, true
	case c == '-':
		return 62, true
	case c == '_':
		return 63, true
	}
	return 0, false
}
