package adminapi

import (
	"errors"
	"strings"
	"testing"
)

// TestCompileConditionRefuses covers the bad inputs a user can write: each is refused with
// the field, the line and column, and CEL's own words.
func TestCompileConditionRefuses(t *testing.T) {
	for _, c := range []struct{ name, expr, want string }{
		{"does not compile", `claims.tenant ==`, "line 1, column 17: Syntax error: mismatched input '<EOF>'"},
		{"not boolean", `claims.tenant`, "the condition is of type dyn; it must be a bool"},
		{"not boolean int", `1 + 1`, "the condition is of type int"},
		{"unknown variable", "request.method == 'GET' &&\n   token.sub == 'x'", "line 2, column 4: undeclared reference to 'token'"},
		{"unknown variable suggestion", `clams.tenant == "a"`, "undeclared reference to 'clams' (did you mean 'claims'?)"},
		{"unknown request field", `request.query == "a"`, "undeclared reference to 'request'"},
		{"unknown function", `claims.tenant.shout() == "A"`, "undeclared reference to 'shout'"},
		{"bad CIDR literal", `cidr("10.0.0.0/33").containsIP(request.remote_ip)`, "line 1, column 6: invalid cidr argument"},
		{"over the cost bound", `request.headers.all(a, request.headers.all(b, a != b))`, "more than the bound of 100000"},
		{"unbounded cost", `claims.all(a, claims.all(b, claims.all(c, a + b + c != "")))`, "more than the bound of 100000"},
		{"empty", "  ", "the condition is empty"},
		{"too long", "true || " + strings.Repeat("true || ", MaxConditionLength/8) + "true", "bytes long; at most 2048"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := CompileCondition("access_rights[2].conditions[1]", c.expr)
			var e *Error
			if !errors.As(err, &e) || e.Field != "access_rights[2].conditions[1]" || !strings.Contains(e.Message, c.want) {
				t.Fatalf("CompileCondition(%q) = %v, want a field error with %q", c.expr, err, c.want)
			}
		})
	}
}

// TestCompileConditionAccepts: what the documentation shows compiles, within the bound.
func TestCompileConditionAccepts(t *testing.T) {
	for _, expr := range []string{
		`claims.tenant == request.headers["x-tenant"]`,
		`has(claims.acr) && claims.acr == "mfa"`,
		`cidr("10.0.0.0/8").containsIP(request.remote_ip)`,
		`now.getDayOfWeek("Europe/Paris") >= 1 && now.getDayOfWeek("Europe/Paris") <= 5`,
		`"admin" in scopes || client_id == "ops" || subject.startsWith("svc-")`,
		`request.method in ["GET", "HEAD"] && request.path.startsWith("/orders/") && request.host == "api.example.com"`,
		`claims.groups.exists(g, g == "ops")`,
		`request.headers.exists(k, k.startsWith("x-"))`,
		`request.headers["x-tenant"].lowerAscii() == claims.tenant`,
	} {
		c, err := CompileCondition("conditions[0]", expr)
		if err != nil {
			t.Errorf("CompileCondition(%q): %v", expr, err)
			continue
		}
		if c.Cost > MaxConditionCost || c.Program == nil || c.Bounded == nil {
			t.Errorf("%q: cost %d, programs %v %v", expr, c.Cost, c.Program, c.Bounded)
		}
	}
}

func TestCompileConditionsBounds(t *testing.T) {
	many := make([]string, MaxConditions+1)
	for i := range many {
		many[i] = "true"
	}
	if _, err := CompileConditions("conditions", many); err == nil || !strings.Contains(err.Error(), "at most 16 conditions") {
		t.Errorf("%d conditions: %v", len(many), err)
	}
	if cs, err := CompileConditions("conditions", many[:MaxConditions]); err != nil || len(cs) != MaxConditions {
		t.Errorf("%d conditions: %v", MaxConditions, err)
	}
	long := strings.Repeat(" ", MaxConditionLength-4) + "true"
	if _, err := CompileCondition("c", long); err != nil {
		t.Errorf("a condition of exactly %d bytes: %v", MaxConditionLength, err)
	}
	if _, err := CompileCondition("c", long+" "); err == nil {
		t.Errorf("a condition of %d bytes passes", MaxConditionLength+1)
	}
}

// TestValidateConditions: Validate of an API and of a policy names the element.
func TestValidateConditions(t *testing.T) {
	api := API{Name: "a", ListenPath: "/a", UpstreamURL: "https://up.example",
		JWT:        &JWTValidation{Issuer: "https://i.example", JWKSURI: "https://i.example/k"},
		Conditions: []string{"true", "nope("}}
	var e *Error
	if err := api.Validate(); !errors.As(err, &e) || e.Field != "conditions[1]" {
		t.Errorf("API: %v, want a field error on conditions[1]", err)
	}
	p := Policy{Name: "p", AccessRights: []AccessRight{{APIID: "x"}, {APIID: "y", Conditions: []string{"1"}}}}
	if err := p.Validate(); !errors.As(err, &e) || e.Field != "access_rights[1].conditions[0]" {
		t.Errorf("policy: %v, want a field error on access_rights[1].conditions[0]", err)
	}
}
