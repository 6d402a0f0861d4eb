package request

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Sender-constrained tokens. A token whose claims (or introspection answer) carry cnf is
// bound to its holder and is checked against that binding whatever the API says:
//   - cnf.jkt (DPoP, RFC 9449): presented with the DPoP scheme, with a valid proof in the
//     request's one DPoP header, made with that key for this method and URL
//     (token.DPoPChecker); as Bearer it is refused (§7.1);
//   - cnf x5t#S256 (RFC 8705): the client certificate of the request's TLS connection (the
//     proxy listener asks for certificates when it serves TLS), or the one a trusted proxy
//     that terminated TLS passes in Options.ClientCertHeader, must hash to it; without one,
//     or with another, the token is refused;
//   - any other cnf is refused: the gateway cannot check it.
//
// An API's sender_constraint also refuses tokens without the binding it names. The upstream
// receives the request's Authorization and DPoP headers unchanged.

const (
	schemeBearer = "Bearer"
	schemeDPoP   = "DPoP"
)

// accessToken reads "Authorization: Bearer <token>" or "Authorization: DPoP <token>" (the
// scheme case-insensitive). present is false when the header carries neither scheme.
func accessToken(h string) (scheme, tok string, present bool) {
	if t, ok := token.Bearer(h); ok {
		return schemeBearer, t, true
	}
	const dpop = "dpop "
	if len(h) >= len(dpop) && strings.EqualFold(h[:len(dpop)], dpop) {
		return schemeDPoP, strings.TrimSpace(h[len(dpop):]), true
	}
	if strings.EqualFold(strings.TrimSpace(h), "dpop") {
		return schemeDPoP, "", true
	}
	return "", "", false
}

// checkBinding refuses a validated token whose presentation does not fit its binding or
// the API's sender constraint. In a simulation (sim non-nil) a DPoP proof is checked without
// being remembered, and a described caller's proof or certificate is taken as presented.
func (c *Checker) checkBinding(r *http.Request, rt *config.Route, scheme, tok string, id *token.Identity, sim *simulation) *refusal {
	jkt, _ := id.Confirmation["jkt"].(string)
	x5t, _ := id.Confirmation["x5t#S256"].(string)
	switch {
	case id.Confirmation != nil && jkt == "" && x5t == "":
		return invalidToken("the access token is bound to its holder in a way the gateway cannot check (cnf)", "unknown cnf")
	case scheme == schemeBearer && jkt != "":
		return dpopRefusal(string(token.CodeInvalid), "the access token is bound to a DPoP key (cnf.jkt); present it with the DPoP scheme and a proof")
	case scheme == schemeDPoP && jkt == "":
		return dpopRefusal(string(token.CodeInvalid), "the access token is not bound to a DPoP key")
	}
	if !accepts(rt, jkt != "", x5t != "") {
		if rt.SenderConstraint == adminapi.SenderConstraintMTLS {
			return invalidToken("this API accepts only access tokens bound to a client certificate", "unbound token")
		}
		return dpopRefusal(string(token.CodeInvalid), "this API accepts only access tokens bound to their holder")
	}
	if sim != nil && sim.caller != nil {
		return nil
	}
	if x5t != "" && !c.presentsCertificate(r, x5t) {
		return invalidToken("the access token is bound to a client certificate (cnf x5t#S256) that this request did not present",
			"x5t#S256 does not match the TLS client certificate")
	}
	if jkt != "" {
		_, span := c.tracer.Start(r.Context(), "dpop check")
		ref := c.checkDPoPProof(r, tok, jkt, sim != nil)
		endCheckSpan(span, ref)
		return ref
	}
	return nil
}

// accepts reports whether the API's sender_constraint lets a token with these bindings in.
func accepts(rt *config.Route, dpop, mtls bool) bool {
	switch rt.SenderConstraint {
	case adminapi.SenderConstraintDPoP:
		return dpop
	case adminapi.SenderConstraintMTLS:
		return mtls
	case adminapi.SenderConstraintDPoPOrMTLS:
		return dpop || mtls
	}
	return true
}

func (c *Checker) checkDPoPProof(r *http.Request, tok, jkt string, dryRun bool) *refusal {
	proofs := r.Header.Values("Dpop")
	if len(proofs) != 1 {
		return dpopRefusal(string(token.CodeInvalidDPoPProof), "send exactly one DPoP header with a proof for this request")
	}
	err := c.dpop.Check(r.Context(), token.DPoPRequest{Proof: proofs[0], Method: r.Method, URL: c.requestURL(r), AccessToken: tok, JKT: jkt, DryRun: dryRun})
	switch {
	case err == nil:
		return nil
	case err.Code == token.CodeInvalidDPoPProof:
		ref := dpopRefusal(string(err.Code), "the DPoP proof is not valid for this request and token")
		ref.logReason = err.Reason
		return ref
	default:
		return refusalOfToken(err)
	}
}

// presentsCertificate reports whether the client certificate of the request hashes to x5t
// (base64url SHA-256 of its DER, RFC 8705 §3.1): the certificate of the request's own TLS
// connection, or, from a trusted proxy that terminated TLS, the one in Options.ClientCertHeader.
func (c *Checker) presentsCertificate(r *http.Request, x5t string) bool {
	der := c.clientCertificate(r)
	if der == nil {
		return false
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]) == x5t
}

// clientCertificate is the DER of the request's client certificate, or nil. A header value
// is URL-escaped PEM (nginx's $ssl_client_escaped_cert), PEM, or base64 DER with or without
// URL escaping (Traefik's passTLSClientCert); it is read only from a trusted proxy.
func (c *Checker) clientCertificate(r *http.Request) []byte {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return r.TLS.PeerCertificates[0].Raw
	}
	if c.clientCertHeader == "" || !c.trustedProxy(r.RemoteAddr) {
		return nil
	}
	values := r.Header.Values(c.clientCertHeader)
	if len(values) != 1 {
		return nil
	}
	raw := values[0]
	// Escaped with %XX (nginx), with "+" for spaces (form encoding), or not at all.
	forms := []string{raw}
	if v, err := url.PathUnescape(raw); err == nil {
		forms = append(forms, v)
	}
	if v, err := url.QueryUnescape(raw); err == nil {
		forms = append(forms, v)
	}
	for _, v := range forms {
		if block, _ := pem.Decode([]byte(v)); block != nil && block.Type == "CERTIFICATE" {
			return block.Bytes
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
		if err != nil {
			continue
		}
		if _, err := x509.ParseCertificate(der); err == nil {
			return der
		}
	}
	return nil
}

// dpopRefusal is a 401 with the DPoP challenge (RFC 9449 §7.1).
func dpopRefusal(code, description string) *refusal {
	return &refusal{outcome: metrics.Unauthorized, status: http.StatusUnauthorized, code: code, description: description,
		challenge: dpopChallenge(code, description)}
}

func dpopChallenge(code, description string) string {
	c := `DPoP algs="` + token.DPoPAlgorithms() + `"`
	if code != "" {
		c += `, error="` + code + `", error_description="` + quotable(description) + `"`
	}
	return c
}

// requestURL is the URL the client addressed, as a DPoP proof's htu names it: the scheme
// (https when the connection, or a trusted proxy's X-Forwarded-Proto, says so), the host and
// the path.
func (c *Checker) requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if c.trustedProxy(r.RemoteAddr) {
		if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
			scheme = p
		}
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}
