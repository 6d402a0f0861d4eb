package token

import (
	"context"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzValidateToken feeds arbitrary strings to a JWT validator. Invariants: it never
// panics, every refusal is a *Error with a known code, and the only tokens it accepts
// are byte-identical to the properly signed valid tokens built here. Keys come from
// testdata and the clock is frozen, and RS256 and EdDSA signatures are deterministic, so
// every fuzz worker builds the same valid set.
//
//	go test -fuzz FuzzValidateToken -fuzztime 60s ./internal/gateway/token/
func FuzzValidateToken(f *testing.F) {
	clock := newFakeClock()
	rsa := rsaKey(f, "a", "a")
	ed := loadKey(f, "ed25519.pem", "ed", jose.EdDSA)
	srv := startJWKS(f, rsa, ed)
	factory, _ := newTestFactory(f, clock)
	api := jwtAPI(srv.URL)
	api.JWT.AllowedAlgorithms = []string{"RS256", "EdDSA"}
	v := validatorFor(f, factory, api)

	now := clock.Now()
	valid := map[string]bool{}
	addValid := func(tok string) {
		valid[tok] = true
		f.Add(tok)
	}
	addValid(signJWT(f, rsa, validClaims(now), nil))
	addValid(signJWT(f, ed, validClaims(now), nil))
	addValid(signJWT(f, rsaKey(f, "a", ""), validClaims(now), nil)) // no kid, one RSA key
	addValid(signJWT(f, rsa, validClaims(now), map[jose.HeaderKey]any{jose.HeaderType: "at+jwt"}))
	// Signed by the IdP's own key: the jku is ignored, not obeyed, so this one is valid.
	addValid(signJWT(f, rsa, validClaims(now), map[jose.HeaderKey]any{"jku": "http://127.0.0.1:1/jwks"}))
	scp := validClaims(now)
	delete(scp, "scope")
	scp["scp"] = []string{"a", "b"}
	scp["pol"] = []string{"gold", "silver"}
	addValid(signJWT(f, ed, scp, nil))

	base := signJWT(f, rsa, validClaims(now), nil)
	seg := splitSegments(base)
	expired := validClaims(now)
	expired["exp"] = now.Unix() - 3600
	for _, broken := range []string{
		"", ".", "..", "...", "a.b.c", base + ".", " " + base, base[:len(base)-1],
		seg[0] + "." + seg[1] + ".", seg[0] + ".." + seg[2],
		seg[0] + "." + seg[1] + "x." + seg[2],
		`eyJhbGciOiJub25lIn0.` + seg[1] + `.`,
		signJWT(f, rsa, expired, nil),
		signJWT(f, rsaKey(f, "c", "a"), validClaims(now), nil),
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
		var te *Error
		if !errors.As(err, &te) {
			t.Fatalf("error %v is %T, not *Error", err, err)
		}
		if te.Code != CodeInvalid && te.Code != CodeUnavailable {
			t.Fatalf("code %q", te.Code)
		}
		if valid[token] {
			t.Fatalf("a valid token was refused: %v", err)
		}
	})
}
