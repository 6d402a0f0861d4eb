package token

import (
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// claimNames says which claims carry an API's identity fields.
type claimNames struct {
	identity string
	// clientID is empty for the default order client_id, cid, azp.
	clientID string
	policy   string
}

func newClaimNames(identity, clientID, policy string) claimNames {
	n := claimNames{identity: identity, clientID: clientID, policy: policy}
	if n.identity == "" {
		n.identity = adminapi.DefaultIdentityClaim
	}
	if n.policy == "" {
		n.policy = adminapi.DefaultPolicyClaim
	}
	return n
}

func (n claimNames) array() [3]string { return [3]string{n.identity, n.clientID, n.policy} }

// identityFromClaims maps verified claims (a JWT payload or an introspection answer) to an
// Identity; the caller sets IssuedAt and ExpiresAt.
func identityFromClaims(claims map[string]any, n claimNames) *Identity {
	id := &Identity{Claims: claims}
	id.Subject, _ = claims[n.identity].(string)
	if n.clientID != "" {
		id.ClientID, _ = claims[n.clientID].(string)
	} else {
		for _, name := range [...]string{"client_id", "cid", "azp"} {
			if s, _ := claims[name].(string); s != "" {
				id.ClientID = s
				break
			}
		}
	}
	if s, ok := claims["scope"].(string); ok {
		id.Scopes = strings.Fields(s)
	} else {
		switch scp := claims["scp"].(type) {
		case string:
			id.Scopes = strings.Fields(scp)
		case []any:
			id.Scopes = stringValues(scp)
		}
	}
	if cnf, present := claims["cnf"]; present {
		id.Confirmation, _ = cnf.(map[string]any)
		if id.Confirmation == nil {
			id.Confirmation = map[string]any{} // still bound; never taken as Bearer
		}
	}
	switch pol := claims[n.policy].(type) {
	case string:
		if pol != "" {
			id.Policies = []string{pol}
		}
	case []any:
		id.Policies = stringValues(pol)
	}
	return id
}

// stringValues keeps the non-empty strings of a JSON array.
func stringValues(values []any) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}
