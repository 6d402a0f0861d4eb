package token

import (
	"context"
	"testing"
	"time"
)

const testResource = "https://mcp.example.com/mcp"

// TestJWTResourceInAudience is RFC 8707 at the resource: with a resource, aud must contain
// it as well as one of the audiences; a token for another resource is refused, cached or
// not; the opt-out accepts it.
func TestJWTResourceInAudience(t *testing.T) {
	clock, key, srv, f := jwtSetup(t)
	api := jwtAPI(srv.URL)
	api.ListenPath, api.Resource = "/mcp", testResource
	v := validatorFor(t, f, api)

	both := validClaims(clock.Now())
	both["aud"] = []string{testAudience, testResource}
	mustValidate(t, v, signJWT(t, key, both, nil))

	onlyResource := validClaims(clock.Now())
	onlyResource["aud"] = testResource
	_, err := v.Validate(context.Background(), signJWT(t, key, onlyResource, nil))
	wantCode(t, err, CodeInvalid) // the audiences still apply

	other := validClaims(clock.Now())
	other["aud"] = []string{testAudience, "https://other.example.com/mcp"}
	otherTok := signJWT(t, key, other, nil)
	for range 2 {
		_, err := v.Validate(context.Background(), otherTok)
		if te := refusalOf(t, err, CodeInvalid); te.Description != notForResource().Description {
			t.Errorf("description %q does not say the token is for another resource", te.Description)
		}
	}
	prefix := validClaims(clock.Now())
	prefix["aud"] = []string{testAudience, testResource + "/"}
	_, err = v.Validate(context.Background(), signJWT(t, key, prefix, nil))
	wantCode(t, err, CodeInvalid) // compared as strings, as RFC 9728 §3.3 says

	// A token accepted by an API without the resource check is not reused from the cache by
	// one with it, nor the reverse.
	api.Resource = ""
	mustValidate(t, validatorFor(t, f, api), otherTok)
	api.Resource = testResource
	_, err = validatorFor(t, f, api).Validate(context.Background(), otherTok)
	wantCode(t, err, CodeInvalid)

	no := false
	api.RequireResourceAudience = &no
	mustValidate(t, validatorFor(t, f, api), otherTok)
}

func TestIntrospectionResourceInAudience(t *testing.T) {
	clock := newFakeClock()
	srv := startIntrospection(t)
	f, _ := newTestFactory(t, clock)
	api := introspectionAPI(srv.URL, time.Minute)
	api.ListenPath, api.Resource = "/mcp", testResource
	v := validatorFor(t, f, api)

	a := activeAnswer(clock.Now(), time.Hour)
	a["aud"] = []any{"api://default", testResource}
	srv.answer("for-it", a)
	mustValidate(t, v, "for-it")

	b := activeAnswer(clock.Now(), time.Hour)
	b["aud"] = testResource
	srv.answer("string-aud", b)
	mustValidate(t, v, "string-aud")

	c := activeAnswer(clock.Now(), time.Hour)
	c["aud"] = "https://other.example.com/mcp"
	srv.answer("other", c)
	_, err := v.Validate(context.Background(), "other")
	wantCode(t, err, CodeInvalid)

	srv.answer("no-aud", activeAnswer(clock.Now(), time.Hour))
	_, err = v.Validate(context.Background(), "no-aud")
	wantCode(t, err, CodeInvalid)

	api.Resource = ""
	mustValidate(t, validatorFor(t, f, api), "other") // another configuration, another cache entry
}
