package config

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// TestConditionsStoredButBroken: conditions that no longer compile (stored by another
// version) refuse everything they guard instead of letting it through.
func TestConditionsStoredButBroken(t *testing.T) {
	c, err := compileConditions("conditions", []string{`nope(`})
	if err == nil || !c.broken {
		t.Fatalf("compileConditions: %v, broken %v", err, c.broken)
	}
	if f := c.eval(&conditionInput{}); f == nil || !f.Failed {
		t.Fatalf("a broken list is met: %+v", f)
	}
	var nilSource *ConditionSource
	good, _ := compileConditions("conditions", []string{`true`})
	if nilSource.Holds(&good, nil) {
		t.Error("a nil condition source meets a condition")
	}
	if !nilSource.Holds(&Conditions{}, nil) {
		t.Error("a nil condition source fails an empty list")
	}
}

// TestConditionsWithinEstimate: a request larger than the static estimate assumed, or claims
// from an introspection answer, are evaluated with the runtime cost limit.
func TestConditionsWithinEstimate(t *testing.T) {
	at := func(n int) *http.Request {
		r, _ := http.NewRequest("GET", "http://h/"+strings.Repeat("p", n-1), nil)
		return r
	}
	if !requestWithinEstimate(at(adminapi.EstimatedMaxRequestValue)) || requestWithinEstimate(at(adminapi.EstimatedMaxRequestValue+1)) {
		t.Error("path bound")
	}
	r := at(1)
	r.Header.Set("X-Big", strings.Repeat("v", adminapi.EstimatedMaxRequestValue-2))
	if !requestWithinEstimate(r) {
		t.Error("a header value at the bound is over it")
	}
	r.Header.Add("X-Big", "v")
	if requestWithinEstimate(r) {
		t.Error("a repeated header over the bound is within it")
	}
	r = at(1)
	for i := range adminapi.EstimatedMaxHeaders + 1 {
		r.Header.Set(fmt.Sprintf("X-H%d", i), "v")
	}
	if requestWithinEstimate(r) {
		t.Error("too many headers are within the bound")
	}
	small := at(1)
	if in := (&conditionInput{r: small, boundedClaims: true}); !in.withinEstimate() {
		t.Error("a small request with JWT claims")
	}
	if in := (&conditionInput{r: small}); in.withinEstimate() {
		t.Error("claims of an introspection answer are within the estimate")
	}
}
