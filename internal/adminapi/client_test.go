package adminapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// An answer that is not the admin API's JSON still tells the user what went wrong when it is a
// short text: here net/http's answer to http:// on a TLS listener.
func TestClientKeepsAShortPlainTextAnswer(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
	}))
	defer html.Close()
	for _, c := range []struct {
		url, want string
		status    int
	}{
		{"http://" + strings.TrimPrefix(tlsSrv.URL, "https://"), "Client sent an HTTP request to an HTTPS server.", 400},
		{html.URL, "Bad Gateway", 502},
	} {
		client, err := adminapi.NewClient(c.url, "token", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.ListAPIs(t.Context())
		apiErr, ok := err.(*adminapi.Error)
		if !ok || apiErr.Status != c.status || apiErr.Message != c.want {
			t.Errorf("%s: %#v, want HTTP %d with message %q", c.url, err, c.status, c.want)
		}
	}
}
