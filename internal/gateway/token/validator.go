package token

import (
	"context"
	"fmt"
)

// Validator checks one bearer token for one protected API.
// Implementations are safe for concurrent use.
type Validator interface {
	// Validate returns the token's identity, or a *Error.
	Validate(ctx context.Context, token string) (*Identity, error)
}

var (
	_ Validator = (*jwtValidator)(nil)
	_ Validator = (*introspectionValidator)(nil)
)

// maxTokenBytes bounds every bearer token before any work is done on it.
const maxTokenBytes = 8 << 10

// checkLength is the first check of every validator: an empty token, or one longer than
// maxTokenBytes, is refused before it is parsed, hashed or sent anywhere.
func checkLength(token string) *Error {
	if len(token) == 0 || len(token) > maxTokenBytes {
		return invalid(fmt.Sprintf("token length %d outside 1..%d", len(token), maxTokenBytes))
	}
	return nil
}
