package gateway

import (
	"net/http"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Sender-constrained tokens. A token whose claims (or introspection answer) carry cnf is
// bound to its holder and is checked against that binding whatever the API says:
//   - presented with the DPoP scheme (RFC 9449), its cnf.jkt must match the key of a valid
//     proof in the request's one DPoP header, made for this method and URL (token.DPoPChecker);
//   - presented as Bearer, it is refused (RFC 9449 §7.1, RFC 8705 §3): a stolen bound token
//     must not work without the key;
//   - certificate-bound tokens (cnf x5t#S256, RFC 8705) are refused until the gateway checks
//     client certificates.
//
// An API with sender_constraint "dpop" also refuses unbound tokens. The upstream receives
// the request's Authorization and DPoP headers unchanged, so it can check them again.

const (
	schemeBearer = "Bearer"
	schemeDPoP   = "DPoP"

	senderConstraintDPoP = adminapi.SenderConstraintDPoP
)

// accessToken reads "Authorization: Bearer <token>" or "Authorization: DPoP <token>" (the
// scheme case-insensitive). present is false when the header carries neither scheme.
func accessToken(h string) (scheme, tok string, present bool) {
	if t, ok := bearerToken(h); ok {
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
// the API's sender constraint.
func (g *Gateway) checkBinding(r *http.Request, rt *route, scheme, tok string, id *token.Identity) *refusal {
	jkt, _ := id.Confirmation["jkt"].(string)
	if scheme == schemeBearer {
		switch {
		case id.Confirmation != nil:
			description := "the access token is bound to its holder (cnf) and cannot be used as a Bearer token"
			if jkt != "" {
				return dpopRefusal(string(token.CodeInvalid), description+"; present it with the DPoP scheme and a proof")
			}
			return invalidToken(description, "cnf in a Bearer token")
		case rt.senderConstraint == senderConstraintDPoP:
			return dpopRefusal(string(token.CodeInvalid), "this API accepts DPoP-bound access tokens only")
		}
		return nil
	}
	if jkt == "" {
		return dpopRefusal(string(token.CodeInvalid), "the access token is not bound to a DPoP key")
	}
	proofs := r.Header.Values("Dpop")
	if len(proofs) != 1 {
		return dpopRefusal(string(token.CodeInvalidDPoPProof), "send exactly one DPoP header with a proof for this request")
	}
	err := g.dpop.Check(token.DPoPRequest{Proof: proofs[0], Method: r.Method, URL: g.requestURL(r), AccessToken: tok, JKT: jkt})
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

// dpopRefusal is a 401 with the DPoP challenge (RFC 9449 §7.1).
func dpopRefusal(code, description string) *refusal {
	return &refusal{outcome: outcomeUnauthorized, status: http.StatusUnauthorized, code: code, description: description,
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
func (g *Gateway) requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if g.trustedProxy(r.RemoteAddr) {
		if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
			scheme = p
		}
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}
