package request

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// oneToken stands in for the token package: tok is valid and says id, every other token is
// invalid.
type oneToken struct {
	tok string
	id  *token.Identity
}

func (v oneToken) Validate(_ context.Context, tok string) (*token.Identity, error) {
	if tok != v.tok {
		return nil, &token.Error{Code: token.CodeInvalid, Description: "the access token is invalid"}
	}
	return v.id, nil
}

func (v oneToken) ForAPI(adminapi.API) (token.Validator, error) { return v, nil }
func (oneToken) Retain([]adminapi.API)                          {}
func (oneToken) Close()                                         {}

// newTestChecker is a Checker over a bbolt store holding API "shop" (/shop, forwarding the
// claim tenant as X-Tenant; edit changes it before it is created) and policy "gold", which
// grants client "app" GET on it with a rate limit; tracer nil is tracing off. It returns the
// token of client "app".
func newTestChecker(t *testing.T, tracer *tracing.Tracer, edit ...func(*adminapi.API)) (*Checker, string) {
	t.Helper()
	st, err := store.OpenBolt(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	shop := adminapi.API{Name: "shop", ListenPath: "/shop", UpstreamURL: "http://127.0.0.1:9",
		ForwardClaims: map[string]string{"X-Tenant": "tenant"},
		JWT:           &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks"}}
	for _, e := range edit {
		e(&shop)
	}
	api, _, err := st.CreateAPI(shop)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreatePolicy(adminapi.Policy{Name: "gold", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Methods: []string{"GET"}}},
		RateLimit:    &adminapi.Limit{Requests: 1000, Per: adminapi.Duration(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	m, _, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	tokens := oneToken{tok: "secret-token-value-7f3a", id: &token.Identity{Subject: "alice-subject", ClientID: "app",
		Scopes: []string{"shop"}, Claims: map[string]any{"tenant": "acme-tenant-claim"},
		IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}}
	up := &Upstreams{Transport: NewTransport(NewDialer(false)), Tracer: tracer, Log: log, BufferPool: NewBufferPool()}
	live, err := config.NewLive(st, &config.Builder{Validators: tokens, Log: log, ReverseProxy: up.ReverseProxy, Metrics: m}, log)
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Config: live, Metrics: m, Limits: limits.New(st, "", m.LimitsFallback, log),
		FailedAuth: limits.NewFailedAuth(limits.FailedAuthLimit{}), Tracer: tracer, Log: log}), tokens.tok
}

// The request path with tracing off allocates nothing more than before: the checks of a
// request with a cached token allocate nothing, with tracing off and, for a request that is
// not sampled, with tracing on.
func TestTracingCheckAllocatesNothingWhenOffOrUnsampled(t *testing.T) {
	for _, on := range []bool{false, true} {
		var tracer *tracing.Tracer
		if on {
			p, err := tracing.New(context.Background(), tracing.Options{Exporter: tracetest.NewInMemoryExporter(), Sampler: sdktrace.NeverSample()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
			tracer = tracing.NewTracer(p.TracerProvider())
		}
		c, tok := newTestChecker(t, tracer)
		r := httptest.NewRequest("GET", "/shop/items/1", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		snap := c.config.Snapshot()
		if _, ref := c.check(r, snap); ref != nil {
			t.Fatalf("check refused: %+v", ref)
		}
		if n := testing.AllocsPerRun(200, func() { c.check(r, snap) }); n != 0 {
			t.Errorf("tracing on=%v: check allocates %v times per request, want 0", on, n)
		}
	}
}
