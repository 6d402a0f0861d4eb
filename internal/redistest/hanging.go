package redistest

import (
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/childproc"
)

// StartHanging starts a Redis that never answers: it accepts connections and reads what they
// send (a frozen Redis, or one behind a network path that drops its answers). It returns the
// redis:// URL to reach it; it stops when the test ends.
func StartHanging(t testing.TB) string {
	t.Helper()
	return "redis://" + childproc.Unresponsive(t, true) + "/0"
}
