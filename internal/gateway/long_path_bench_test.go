//go:build unix

package gateway

import (
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// BenchmarkLongPath answers, without a token, the request an attacker sends to burn CPU before
// any check (issue 23): /orders followed by 30,000 "/a" segments (60 KB), beside a normal
// request in the same run. It reports the process's CPU time per request (cpu-ns/op: user and
// system, garbage collection included), which is what a flood of such requests takes from
// everyone else; the long one should cost about what the normal one does, well under 10 ms.
func BenchmarkLongPath(b *testing.B) {
	h := newHarness(b)
	for _, lp := range []string{"/orders", "/", "/orders/files", "/billing/v1/invoices"} {
		h.createAPI(adminapi.API{Name: "api" + strings.ReplaceAll(lp, "/", "-"), ListenPath: lp, UpstreamURL: "http://upstream.internal"})
	}
	handler := h.gw.ProxyHandler()
	for _, tc := range []struct{ name, path string }{
		{"normal", "/orders/7"},
		{"one-60KB-segment", "/orders/" + strings.Repeat("a", 60000)},
		{"30000-segments", "/orders" + strings.Repeat("/a", 30000)},
		// the longest target the gateway accepts, with as many segments as it accepts
		{"8KiB-255-segments", "/orders" + strings.Repeat("/"+strings.Repeat("a", 31), adminapi.MaxPathSegments-1)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", tc.path, nil)
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, req)
				if w.Code < 400 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
	// Route lookup alone, past the limits that refuse such a path first: it must not cost
	// the square of the path's length.
	long := "/orders" + strings.Repeat("/a", 30000)
	b.Run("lookup-only-30000-segments", func(b *testing.B) {
		snap := h.gw.config.Snapshot()
		cpu0 := processCPU()
		for b.Loop() {
			if rt := snap.Lookup("gw", long); rt == nil || rt.ListenPath != "/orders" {
				b.Fatalf("routed to %v", rt)
			}
		}
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	})
}

// processCPU is the user and system time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
