package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// runExplain is `idpgate explain`: asks a running gateway's admin API (POST /v1/decisions)
// what it would do with a request and prints the verdict and its reasons for a person. The
// request is not sent and counts against no limit. Exit status 0 when the gateway would
// pass it, 1 when it would refuse it (or the question cannot be asked).
func runExplain(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	gatewayURL := fs.String("gateway-url", os.Getenv("IDPGATE_GATEWAY_URL"), "the gateway's admin API `URL` (IDPGATE_GATEWAY_URL); its token comes from IDPGATE_GATEWAY_ADMIN_TOKEN")
	method := fs.String("method", "GET", "the request's HTTP `method`")
	target := fs.String("url", "", "the request's `URL`, e.g. https://api.example.com/orders/1, or a path such as /orders/1")
	clientID := fs.String("client-id", "", "described caller: its client id")
	subject := fs.String("subject", "", "described caller: its subject")
	scopes := fs.String("scopes", "", "described caller: its scopes, space-separated (unset: the claims' scope)")
	claims := fs.String("claims", "", "described caller: further claims as a JSON `object`, e.g. '{\"pol\":\"gold\"}'")
	tokenFile := fs.String("token-file", "", "a real access token instead of a described caller: the `file` holding it, - for stdin")
	tokenType := fs.String("token-type", "", "present the token as Bearer or DPoP (default: Bearer, DPoP for claims with cnf.jkt)")
	var headers headerFlags
	fs.Var(&headers, "header", "a request header, `Name: value` (repeatable), e.g. a DPoP proof")
	asJSON := fs.Bool("json", false, "print the gateway's answer as JSON")
	setUsage(fs, `Usage: idpgate explain --url URL [--method M] [caller flags]

Asks the gateway what it would do with a request, without sending it: the verdict, the API and
policy involved, and why. The caller is described (--client-id, --subject, --scopes, --claims)
or a real token (--token-file), checked as the proxy checks it.

Flags:
`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *target == "" {
		return usageErrorf("--url is required")
	}
	adminToken := os.Getenv("IDPGATE_GATEWAY_ADMIN_TOKEN")
	if *gatewayURL == "" || adminToken == "" {
		return usageErrorf("set --gateway-url (or IDPGATE_GATEWAY_URL) and IDPGATE_GATEWAY_ADMIN_TOKEN to the gateway's admin API and token")
	}
	in := adminapi.DecisionRequest{
		Request: adminapi.DecisionHTTPRequest{Method: strings.ToUpper(*method), Headers: headers.values},
		Caller:  adminapi.DecisionCaller{ClientID: *clientID, Subject: *subject, TokenType: *tokenType},
	}
	if strings.HasPrefix(*target, "/") {
		in.Request.Path = *target
	} else {
		in.Request.URL = *target
	}
	if flagSet(fs, "scopes") {
		in.Caller.Scopes = strings.Fields(*scopes)
		if in.Caller.Scopes == nil {
			in.Caller.Scopes = []string{}
		}
	}
	if *claims != "" {
		in.Caller.Claims = json.RawMessage(*claims)
	}
	if *tokenFile != "" {
		tok, err := readToken(*tokenFile)
		if err != nil {
			return err
		}
		in.Caller.Token = tok
	}
	if err := in.Validate(); err != nil {
		return usageErrorf("%s", strings.TrimPrefix(err.Error(), "gateway admin API: "))
	}
	client, err := adminapi.NewClient(*gatewayURL, adminToken, nil)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := client.Decide(ctx, in)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return err
		}
	} else {
		printDecision(stdout, &in, d)
	}
	if !d.Allowed {
		return errRefused
	}
	return nil
}

// errRefused makes the exit status 1 when the gateway would refuse the request.
var errRefused = errors.New("the gateway would refuse this request")

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// readToken reads a token from a file or stdin (-), without its line end.
func readToken(file string) (string, error) {
	var raw []byte
	var err error
	if file == "-" {
		raw, err = io.ReadAll(io.LimitReader(os.Stdin, adminapi.MaxDecisionHeaderBytes+1))
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// printDecision writes the verdict and its reasons for a person.
func printDecision(w io.Writer, in *adminapi.DecisionRequest, d *adminapi.Decision) {
	target := in.Request.URL
	if target == "" {
		target = in.Request.Path
	}
	fmt.Fprintf(w, "%s %s as %s\n", in.Request.Method, target, describeCaller(&in.Caller))
	if d.Allowed {
		fmt.Fprintf(w, "  verdict:  allowed (the proxy passes it upstream)\n")
	} else {
		fmt.Fprintf(w, "  verdict:  refused, %d %s\n", d.Status, d.Error)
		if d.ErrorDescription != "" {
			fmt.Fprintf(w, "            %q\n", d.ErrorDescription)
		}
	}
	fmt.Fprintf(w, "  why:      %s\n", d.Reason)
	if d.APIID != "" {
		fmt.Fprintf(w, "  API:      %s (%s)\n", d.APIName, d.APIID)
	}
	if d.PolicyID != "" && d.AccessRight != nil {
		fmt.Fprintf(w, "  policy:   %s (%s), access_rights[%d]\n", d.PolicyName, d.PolicyID, *d.AccessRight)
	}
	if c := d.Condition; c != nil {
		fmt.Fprintf(w, "  condition: [%d] %s failed\n", c.Index, c.Expression)
	}
	if c := d.Caller; c != nil {
		fmt.Fprintf(w, "  caller:   client_id %s, subject %s, scopes %s", orDash(c.ClientID), orDash(c.Subject), orDash(strings.Join(c.Scopes, " ")))
		if len(c.Policies) > 0 {
			fmt.Fprintf(w, ", policy claim %s", strings.Join(c.Policies, " "))
		}
		if c.BoundBy != "" {
			fmt.Fprintf(w, ", bound by %s", c.BoundBy)
		}
		fmt.Fprintln(w)
	}
	if len(d.Policies) > 0 {
		fmt.Fprintf(w, "  policies bound to the caller, in the order they are tried:\n")
		for _, p := range d.Policies {
			mark := "-"
			if p.Granted {
				mark = "+"
			}
			fmt.Fprintf(w, "    %s %s (%s, by %s): %s\n", mark, p.Name, p.ID, p.BoundBy, p.Reason)
		}
	}
	if l := d.Limits; l != nil {
		var parts []string
		if l.RateLimit != nil {
			parts = append(parts, fmt.Sprintf("rate limit %d per %s", l.RateLimit.Requests, l.RateLimit.Per.D()))
		}
		if l.Quota != nil {
			parts = append(parts, fmt.Sprintf("quota %d per %s", l.Quota.Requests, l.Quota.Per.D()))
		}
		state := fmt.Sprintf("%d left after this request", l.Remaining)
		if l.Exceeded != "" {
			state = l.Exceeded + " used up"
		}
		fmt.Fprintf(w, "  limits:   %s; %s (nothing was counted)\n", strings.Join(parts, ", "), state)
	}
}

func describeCaller(c *adminapi.DecisionCaller) string {
	switch {
	case c.Token != "":
		return "the given token"
	case c.ClientID != "":
		return "client " + c.ClientID
	case c.Subject != "":
		return "subject " + c.Subject
	case c.Described():
		return "the described caller"
	}
	return "a caller without a token"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// headerFlags collects --header "Name: value".
type headerFlags struct{ values map[string]string }

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q is not Name: value", v)
	}
	if h.values == nil {
		h.values = map[string]string{}
	}
	h.values[strings.TrimSpace(name)] = strings.TrimSpace(value)
	return nil
}
