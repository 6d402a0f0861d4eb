package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzValidateToken feeds arbitrary strings to a JWT validator. Invariants: it never
// panics, every refusal is a *TokenError with a known code, and the only tokens it accepts
// are byte-identical to the properly signed valid tokens built here. Keys come from
// testdata and the clock is frozen, and RS256 and EdDSA signatures are deterministic, so
// every fuzz worker builds the same valid set.
//
//	go test -fuzz FuzzValidateToken -fuzztime 60s ./internal/gateway/
func FuzzValidateToken(f *testing.F) {
	clock := ttNewClock()
	rsa := ttRSA(f, "a", "a")
	ed := ttLoadKey(f, "ed25519.pem", "ed", jose.EdDSA)
	srv := ttStartJWKS(f, rsa, ed)
	factory, _ := ttFactory(f, clock)
	api := ttJWTAPI(srv.URL)
	api.JWT.AllowedAlgorithms = []string{"RS256", "EdDSA"}
	v := ttValidator(f, factory, api)

	now := clock.Now()
	valid := map[string]bool{}
	addValid := func(tok string) {
		valid[tok] = true
		f.Add(tok)
	}
	addValid(ttSign(f, rsa, ttClaims(now), nil))
	addValid(ttSign(f, ed, ttClaims(now), nil))
	addValid(ttSign(f, ttRSA(f, "a", ""), ttClaims(now), nil)) // no kid, one RSA key
	addValid(ttSign(f, rsa, ttClaims(now), map[jose.HeaderKey]any{jose.HeaderType: "at+jwt"}))
	// Signed by the IdP's own key: the jku is ignored, not obeyed, so this one is valid.
	addValid(ttSign(f, rsa, ttClaims(now), map[jose.HeaderKey]any{"jku": "http://127.0.0.1:1/jwks"}))
	scp := ttClaims(now)
	delete(scp, "scope")
	scp["scp"] = []string{"a", "b"}
	scp["pol"] = []string{"gold", "silver"}
	addValid(ttSign(f, ed, scp, nil))

	base := ttSign(f, rsa, ttClaims(now), nil)
	seg := ttSegments(base)
	expired := ttClaims(now)
	expired["exp"] = now.Unix() - 3600
	for _, broken := range []string{
		"", ".", "..", "...", "a.b.c", base + ".", " " + base, base[:len(base)-1],
		seg[0] + "." + seg[1] + ".", seg[0] + ".." + seg[2],
		seg[0] + "." + seg[1] + "x." + seg[2],
		`eyJhbGciOiJub25lIn0.` + seg[1] + `.`,
		ttSign(f, rsa, expired, nil),
		ttSign(f, ttRSA(f, "c", "a"), ttClaims(now), nil),
		strings.Repeat("A", 100) + "." + strings.Repeat("B", 100) + "." + strings.Repeat("C", 100),
		`{"payload":"` + seg[1] + `","protected":"` + seg[0] + `","signature":"` + seg[2] + `"}`,
	} {
		f.Add(broken)
	}

	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Validate(context.Background(), token)
		if err == nil {
			if !valid[token] {
				t.Fatalf("accepted a token that is not one of the signed valid tokens: %q", token)
			}
			if id == nil || id.Subject != "user-1" || id.ExpiresAt.IsZero() {
				t.Fatalf("accepted with identity %+v", id)
			}
			return
		}
		if id != nil {
			t.Fatalf("identity %+v returned with error %v", id, err)
		}
		var te *TokenError
		if !errors.As(err, &te) {
			t.Fatalf("error %v is %T, not *TokenError", err, err)
		}
		if te.Code != tokenCodeInvalid && te.Code != tokenCodeUnavailable {
			t.Fatalf("code %q", te.Code)
		}
		if valid[token] {
			t.Fatalf("a valid token was refused: %v", err)
		}
	})
}
