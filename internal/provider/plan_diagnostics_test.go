package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// noErrorText matches any text in which "Error:" does not occur (Go's regexp has no
// lookahead, so it is spelled out as the automaton that reads "Error:" one letter at a time).
const noErrorText = `(?:[^E]|E(?:E|rE|rrE|rroE|rrorE)*(?:[^Er]|r[^Er]|rr[^Eo]|rro[^Er]|rror[^E:]))*` +
	`(?:E(?:E|rE|rrE|rroE|rrorE)*(?:|r|rr|rro|rror))?`

// singleError matches Terraform's output when it holds exactly one error, with this summary,
// on the object addr (a provider's without its address), at the configuration line source (what Terraform
// shows for the diagnostic's attribute path), whose detail says each of words in order.
func singleError(summary, addr, source string, words ...string) *regexp.Regexp {
	var detail strings.Builder
	for _, w := range words {
		detail.WriteString(noErrorText)
		detail.WriteString(strings.Join(strings.Fields(regexp.QuoteMeta(w)), `\s+`))
	}
	return regexp.MustCompile(`\A` + noErrorText + `Error: ` + regexp.QuoteMeta(summary) + `\n\n\s*with ` +
		regexp.QuoteMeta(addr) + `(?:\[[^\n]*\])?,\n\s*on \S+ line \d+, in [^\n]*:\n\s*\d+:\s*` + regexp.QuoteMeta(source) + `\n` +
		detail.String() + noErrorText + `\z`)
}

func TestSingleErrorPattern(t *testing.T) {
	out := "Error running plan: exit status 1\nWarning: x\n\nError: Invalid listen_path\n\n  with idpgate_protected_api.x,\n" +
		"  on main.tf line 8, in resource \"idpgate_protected_api\" \"x\":\n   8:   listen_path = \"orders/\"\n\n" +
		"listen_path: \"orders/\" must start with\n\"/\", such as \"/orders/\".\n"
	re := singleError("Invalid listen_path", "idpgate_protected_api.x", `listen_path = "orders/"`, `must start with "/"`, `"/orders/"`)
	if !re.MatchString(out) {
		t.Fatal("one error not matched")
	}
	for _, second := range []string{"Error: Invalid Attribute Value Match\n", "EError: x", "ErrorError: x", "Erro\nError: x"} {
		if re.MatchString(out + second) {
			t.Errorf("matched with a second error %q", second)
		}
	}
	if re.MatchString(strings.Replace(out, "/orders/", "/other/", 1)) {
		t.Error("matched without the words")
	}
}

// TestAccPlanDiagnostics_oneOnTheRightLine: each mistake a newcomer makes in a gateway
// resource gets exactly one error, which names the attribute as the user wrote it, shows a
// value that would be accepted, and points at the line Terraform can show for it (a nested
// attribute's enclosing attribute, or the list element).
func TestAccPlanDiagnostics_oneOnTheRightLine(t *testing.T) {
	t.Parallel()
	prov := func(extra string) string {
		return fmt.Sprintf("provider \"idpgate\" {\n  gateway_url         = %q\n  gateway_admin_token = \"unused\"\n%s}\n", closedPort(t), extra)
	}
	api := func(listenPath, upstream, jwtExtra string) string {
		return prov("") + apiConfig("x", listenPath, upstream, strings.TrimSuffix(offlineJWT, "  }")+jwtExtra+"  }")
	}
	policy := func(second, rest string) string {
		return prov("") + `
resource "idpgate_access_policy" "x" {
  name = "x"
  access_rights = [
    { api_id = "a" },
    {
      api_id  = "b"
` + second + `
    },
  ]
` + rest + `
}
`
	}
	const apiAddr, policyAddr = "idpgate_protected_api.x", "idpgate_access_policy.x"
	cases := map[string]struct {
		config string
		want   *regexp.Regexp
	}{
		"relative listen_path": {api("orders/", "http://127.0.0.1:9000", ""),
			singleError("Invalid listen_path", apiAddr, `listen_path  = "orders/"`, `"orders/" must start with "/", such as "/orders/"`)},
		"upstream address without scheme": {api("/orders/", "127.0.0.1:9000", ""),
			singleError("Invalid upstream_url", apiAddr, `upstream_url = "127.0.0.1:9000"`, `"127.0.0.1:9000" must be an absolute http or https URL: the scheme is missing`,
				`http:// or https://`, `"https://127.0.0.1:9000"`)},
		"upstream host and port without scheme": {api("/orders/", "localhost:9000", ""),
			singleError("Invalid upstream_url", apiAddr, `upstream_url = "localhost:9000"`, `"localhost:9000" must be an absolute http or https URL: the scheme is missing`)},
		"upstream host without scheme": {api("/orders/", "orders.internal", ""),
			singleError("Invalid upstream_url", apiAddr, `upstream_url = "orders.internal"`, `"orders.internal" must be an absolute http or https URL: the scheme is missing`)},
		"leeway too long": {api("/orders/", "http://127.0.0.1:9000", "    leeway = \"10m\"\n"),
			singleError("Invalid jwt.leeway", apiAddr, `jwt = {`, `jwt.leeway: "10m" is out of range: must be at least 0s and at most 5m, such as "30s"`)},
		"leeway not a duration": {api("/orders/", "http://127.0.0.1:9000", "    leeway = \"30\"\n"),
			singleError("Invalid jwt.leeway", apiAddr, `jwt = {`, `jwt.leeway: "30" is not a duration`, `such as "30s"`)},
		"rate period in words": {policy("", `  rate_limit = {
    requests = 10
    per      = "1 minute"
  }`), singleError("Invalid rate_limit.per", policyAddr, `rate_limit = {`,
			`rate_limit.per: "1 minute" is not a duration. Write a number and a unit (ms, s, m or h), such as "60s".`)},
		"rate period without unit": {policy("", `  rate_limit = { requests = 10, per = "60" }`),
			singleError("Invalid rate_limit.per", policyAddr, `rate_limit = { requests = 10, per = "60" }`, `"60" is not a duration`, `such as "60s"`)},
		"negative rate period": {policy("", `  rate_limit = { requests = 10, per = "-1s" }`),
			singleError("Invalid rate_limit.per", policyAddr, `rate_limit = { requests = 10, per = "-1s" }`, `"-1s" is out of range: must be longer than 0s and at most 24h, such as "60s"`)},
		"quota period without unit": {policy("", `  quota = { requests = 10, per = "1d" }`),
			singleError("Invalid quota.per", policyAddr, `quota = { requests = 10, per = "1d" }`, `"1d" is not a duration`, `such as "24h"`)},
		"zero requests": {policy("", `  quota = { requests = 0, per = "24h" }`),
			singleError("Invalid quota.requests", policyAddr, `quota = { requests = 0, per = "24h" }`, `quota.requests: must be greater than 0`)},
		"token age in days": {policy("", `  max_token_age = "7d"`),
			singleError("Invalid max_token_age", policyAddr, `max_token_age = "7d"`, `"7d" is not a duration`, `such as "24h"`)},
		"lower-case method": {policy(`      methods = ["get", "HEAD"]`, ""),
			singleError("Invalid access_rights[1].methods", policyAddr, `{`,
				`access_rights[1].methods: "get" is not an HTTP method; use upper case`)},
		"empty api_id": {strings.Replace(
			policy("", ""), `{ api_id = "a" }`, `{ api_id = "" }`, 1),
			singleError("Invalid access_rights[0].api_id", policyAddr, `{ api_id = "" },`, `access_rights[0].api_id: must be set`)},
		"relative path pattern": {policy(`      paths   = ["items"]`, ""),
			singleError("Invalid access_rights[1].paths", policyAddr, `{`, `path pattern "items" must start with "/"`)},
		"request timeout in words": {prov("  request_timeout = \"half a minute\"\n") + `
resource "idpgate_access_policy" "x" {
  name          = "x"
  access_rights = [{ api_id = "a" }]
}
`, singleError("Invalid request_timeout", "provider", `request_timeout = "half a minute"`,
			`"half a minute" is not a duration`, `such as "30s"`)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{Config: tc.config, PlanOnly: true, ExpectError: tc.want}},
			})
		})
	}
}

// TestAccPlanDiagnostics_issuerSameFromBlockOrEnvironment: a mistyped issuer gets the same
// single message whether it is in the provider block or in IDPGATE_ISSUER, and it says
// http or https, as both are accepted. Not parallel: it sets the environment.
func TestAccPlanDiagnostics_issuerSameFromBlockOrEnvironment(t *testing.T) {
	config := func(issuer string) string {
		return fmt.Sprintf(`
provider "idpgate" {
  gateway_url         = %q
  gateway_admin_token = "unused"
%s}

resource "idpgate_access_policy" "x" {
  name          = "x"
  access_rights = [{ api_id = "a" }]
}
`, closedPort(t), issuer)
	}
	words := []string{`issuer (or IDPGATE_ISSUER) "htps://idp.example.com" must be an absolute http or https URL, such as https://idp.example.com.`}
	t.Run("block", func(t *testing.T) {
		accTest(t, resource.TestCase{
			Steps: []resource.TestStep{{Config: config("  issuer = \"htps://idp.example.com\"\n"), PlanOnly: true,
				ExpectError: singleError("Invalid issuer", "provider", `issuer = "htps://idp.example.com"`, words...)}},
		})
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("IDPGATE_ISSUER", "htps://idp.example.com")
		accTest(t, resource.TestCase{
			Steps: []resource.TestStep{{Config: config(""), PlanOnly: true,
				ExpectError: singleError("Invalid issuer", "provider", `provider "idpgate" {`, words...)}},
		})
	})
}

// TestAccPlanDiagnostics_durationMistakeHidesNoOther: a duration the attribute's own check
// refuses does not stop the gateway's checks of the rest of the configuration.
func TestAccPlanDiagnostics_durationMistakeHidesNoOther(t *testing.T) {
	t.Parallel()
	config := fmt.Sprintf(`
provider "idpgate" {
  gateway_url         = %q
  gateway_admin_token = "unused"
}

resource "idpgate_access_policy" "x" {
  name          = "x"
  access_rights = [{ api_id = "a", methods = ["get"] }]
  rate_limit    = { requests = 10, per = "1 minute" }
}
`, closedPort(t))
	accTest(t, resource.TestCase{
		Steps: []resource.TestStep{{Config: config, PlanOnly: true, ExpectError: regexp.MustCompile(
			`(?s)(Invalid rate_limit\.per.*Invalid access_rights\[0\]\.methods|Invalid access_rights\[0\]\.methods.*Invalid rate_limit\.per)`)}},
	})
}
