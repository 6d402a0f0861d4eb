package request

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

func TestConditionsRemoteIP(t *testing.T) {
	k := &Checker{trustedProxies: DefaultTrustedProxies}
	for _, c := range []struct{ peer, xff, want string }{
		{"192.0.2.7:1234", "10.1.1.1", "192.0.2.7"},           // an untrusted peer's X-Forwarded-For is ignored
		{"127.0.0.1:1234", "", "127.0.0.1"},                   // a trusted peer naming no client is the client
		{"127.0.0.1:1234", "10.1.1.1, 127.0.0.2", "10.1.1.1"}, // the nearest untrusted hop
		{"127.0.0.1:1234", "127.0.0.3, 127.0.0.2", "127.0.0.3"},
		{"127.0.0.1:1234", "not-an-ip", ""},
		{"[::ffff:192.0.2.9]:1", "", "192.0.2.9"},
	} {
		r, _ := http.NewRequest("GET", "http://h/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := k.requestRemoteIP(r); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %q, want %q", c.peer, c.xff, got, c.want)
		}
	}
}

// TestCheckOrder: check's steps in their order, each shown by a request that passes the steps
// before it and is stopped by it (or, for the override query, let through by an API that
// forwards overrides). status 0 is let in.
func TestCheckOrder(t *testing.T) {
	c, tok := newTestChecker(t, nil)
	overrides, _ := newTestChecker(t, nil, func(a *adminapi.API) { a.ForwardOverrideHeaders = true })
	for _, tc := range []struct {
		name        string
		c           *Checker
		target      string
		auth        string
		status      int
		says        string // a word of the description, or of the challenge when there is none
		dpopChallen bool
	}{
		{"a dot segment before routing", c, "/nowhere/../shop", "", 400, "segments", false},
		{"two Authorization headers before routing", c, "/nowhere", "Bearer a\x00Bearer b", 400, "one Authorization", false},
		{"no route before the token", c, "/nowhere", "", 404, "no API", false},
		{"_method before the token", c, "/shop/x?_method=DELETE", "", 400, "_method", false},
		{"_method let through when forwarded", overrides, "/shop/x?_method=DELETE", "Bearer " + tok, 0, "", false},
		{"no token", c, "/shop/x", "", 401, `realm="idpgate"`, false},
		{"DPoP without a token", c, "/shop/x", "DPoP", 401, "empty", false},
		{"an invalid bearer token", c, "/shop/x", "Bearer nope", 401, "invalid", false},
		{"an invalid DPoP token gets a DPoP challenge", c, "/shop/x", "DPoP nope", 401, "invalid", true},
		{"the token as DPoP, unbound", c, "/shop/x", "DPoP " + tok, 401, "not bound", true},
		{"a valid token", c, "/shop/x", "Bearer " + tok, 0, "", false},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		if tc.auth != "" {
			r.Header["Authorization"] = strings.Split(tc.auth, "\x00")
		}
		d, ref := tc.c.check(r, tc.c.config.Snapshot())
		switch {
		case tc.status == 0 && ref != nil:
			t.Errorf("%s: refused: %d %s", tc.name, ref.status, ref.description)
		case tc.status == 0 && (d.id == nil || d.policy == nil):
			t.Errorf("%s: let in without its identity or policy: %+v", tc.name, d)
		case tc.status == 0:
		case ref == nil:
			t.Errorf("%s: let in; want %d", tc.name, tc.status)
		case ref.status != tc.status || !strings.Contains(ref.description+ref.challenge, tc.says):
			t.Errorf("%s: %d %q (%s); want %d saying %q", tc.name, ref.status, ref.description, ref.challenge, tc.status, tc.says)
		case strings.HasPrefix(ref.challenge, "DPoP ") != tc.dpopChallen:
			t.Errorf("%s: challenge %q", tc.name, ref.challenge)
		}
	}
}

// TestCheckWithoutValidator: an API whose token validation is not available answers 503,
// after the token's presence is checked (no token is still 401).
func TestCheckWithoutValidator(t *testing.T) {
	c, tok := newTestChecker(t, nil)
	snap := c.config.Snapshot()
	rt := snap.Lookup("example.com", "/shop/x")
	rt.Validator, rt.ValidatorErr = nil, errors.New("no JWKS")
	for auth, status := range map[string]int{"": 401, "Bearer " + tok: 503} {
		r := httptest.NewRequest("GET", "/shop/x", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if _, ref := c.check(r, snap); ref == nil || ref.status != status {
			t.Errorf("Authorization %q: %+v; want %d", auth, ref, status)
		}
	}
}

// TestCheckSimulationCountsNoValidation: a decision without traffic validates the token
// without observing the validation time; a request does observe it.
func TestCheckSimulationCountsNoValidation(t *testing.T) {
	c, tok := newTestChecker(t, nil)
	count := func() uint64 {
		var m dto.Metric
		if err := c.metrics.Validation.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount()
	}
	r := httptest.NewRequest("GET", "/shop/x", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, ref := c.checkRequest(r, c.config.Snapshot(), &simulation{}); ref != nil || count() != 0 {
		t.Errorf("simulation: %+v, %d validations observed; want 0", ref, count())
	}
	if _, ref := c.check(r, c.config.Snapshot()); ref != nil || count() != 1 {
		t.Errorf("request: %+v, %d validations observed; want 1", ref, count())
	}
}

// TestServeRefusesTheTargetFirst: a request target past the limits is refused before the
// decision endpoint, the metadata or the checks see it, and its access record keeps at most
// maxLoggedPath bytes of the path.
func TestServeRefusesTheTargetFirst(t *testing.T) {
	c, _ := newTestChecker(t, nil)
	over := strings.Repeat("/abcd", adminapi.MaxPathSegments+1) // longer than maxLoggedPath
	for _, target := range []string{"/shop" + over, DefaultDecisionPath + over, "/.well-known/oauth-protected-resource" + over} {
		rec := &accesslog.Record{}
		w := httptest.NewRecorder()
		c.Serve(w, httptest.NewRequest("GET", target, nil), rec)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "segments") {
			t.Errorf("%.40s...: %d %s", target, w.Code, w.Body)
		}
		if want := target[:maxLoggedPath]; rec.Path != want || rec.Outcome != metrics.BadRequest.String() {
			t.Errorf("%.40s...: logged path of %d bytes, outcome %q", target, len(rec.Path), rec.Outcome)
		}
	}
	rec := &accesslog.Record{}
	c.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/shop/x#y", nil), rec)
	if rec.Path != "/shop/x%23y" {
		t.Errorf("a short refused path logged as %q", rec.Path)
	}
	c.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/shop/x#y", nil), nil) // no access log
}

// TestDecisionLog: the access record gets the API, the identity and the policy the checks
// found, and nothing for what they did not.
func TestDecisionLog(t *testing.T) {
	rt := &config.Route{Name: "shop", ID: "api_1"}
	id := &token.Identity{ClientID: "app", Subject: "alice"}
	pol := &config.Policy{ID: "pol_1"}
	for _, tc := range []struct {
		d    decision
		want accesslog.Record
	}{
		{decision{}, accesslog.Record{Outcome: "no_route"}},
		{decision{route: rt}, accesslog.Record{Outcome: "no_route", API: "shop"}},
		{decision{route: rt, id: id}, accesslog.Record{Outcome: "no_route", API: "shop", ClientID: "app", Subject: "alice"}},
		{decision{route: rt, id: id, policy: pol}, accesslog.Record{Outcome: "no_route", API: "shop", ClientID: "app", Subject: "alice", Policy: "pol_1"}},
	} {
		var rec accesslog.Record
		tc.d.log(&rec, metrics.NoRoute)
		if rec != tc.want {
			t.Errorf("%+v: logged %+v, want %+v", tc.d, rec, tc.want)
		}
	}
	(&decision{route: rt}).log(nil, metrics.NoRoute) // no access log
}

// TestAdmit: a preflight to an API with CORS is answered without a token; its other requests
// carry the CORS headers whether refused or let in; a let-in request carries X-RateLimit-*;
// an API without CORS takes an OPTIONS with Origin as any request.
func TestAdmit(t *testing.T) {
	plain, tok := newTestChecker(t, nil)
	cors, _ := newTestChecker(t, nil, func(a *adminapi.API) {
		a.CORS = &adminapi.CORS{AllowedOrigins: []string{"https://app.example"}}
	})
	for _, tc := range []struct {
		name      string
		c         *Checker
		method    string
		auth      string
		preflight bool
		ok        bool
		status    int // written when not ok
		corsSent  bool
	}{
		{"preflight with CORS", cors, "OPTIONS", "", true, false, 204, true},
		{"refused with CORS", cors, "GET", "", false, false, 401, true},
		{"let in with CORS", cors, "GET", "Bearer " + tok, false, true, 0, true},
		{"preflight without CORS", plain, "OPTIONS", "", true, false, 401, false},
		{"let in without CORS", plain, "GET", "Bearer " + tok, false, true, 0, false},
	} {
		r := httptest.NewRequest(tc.method, "/shop/x", nil)
		r.Header.Set("Origin", "https://app.example")
		if tc.preflight {
			r.Header.Set("Access-Control-Request-Method", "GET")
		}
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		_, ok := tc.c.admit(w, r, nil)
		switch {
		case ok != tc.ok:
			t.Errorf("%s: admitted %v", tc.name, ok)
		case !ok && w.Code != tc.status:
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.status)
		case (w.Header().Get("Access-Control-Allow-Origin") != "") != tc.corsSent:
			t.Errorf("%s: CORS headers %v", tc.name, w.Header())
		case ok && w.Header().Get("X-RateLimit-Limit") == "":
			t.Errorf("%s: no X-RateLimit-* headers: %v", tc.name, w.Header())
		}
	}
}
