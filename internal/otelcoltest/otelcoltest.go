// Package otelcoltest starts a real OpenTelemetry Collector on loopback for a test: the
// collector's own OTLP receiver (HTTP and gRPC, on free ports) and the contrib file exporter,
// which writes what it receives as OTLP JSON lines that Spans reads back. The binary is built
// once per machine by scripts/otelcol.sh (which scripts/test-deps.sh and .ci/run run); a
// test that cannot find it fails saying so, it never skips.
package otelcoltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/childproc"
)

// Version is the collector release scripts/otelcol.sh builds (tools/otelcol/go.mod).
const Version = "v0.161.0"

// BinaryEnv overrides where the collector binary is looked for.
const BinaryEnv = "IDPGATE_OTELCOL_BIN"

// Collector is one running collector.
type Collector struct {
	// HTTPEndpoint is the OTLP/HTTP receiver's base URL (http://127.0.0.1:port), the value
	// of OTEL_EXPORTER_OTLP_ENDPOINT for http/protobuf.
	HTTPEndpoint string
	// GRPCEndpoint is the OTLP/gRPC receiver's URL (http://127.0.0.1:port).
	GRPCEndpoint string

	t     testing.TB
	file  string
	child *childproc.Child
}

// Tool is the collector: $IDPGATE_OTELCOL_BIN, or scripts/otelcol.sh's cache
// (${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/otelcol-v0.161.0/otelcol).
var Tool = childproc.Tool{Name: "otelcol", Version: Version, Env: BinaryEnv, What: "the OpenTelemetry Collector",
	Build: "`bash scripts/otelcol.sh` (scripts/test-deps.sh and make test-all do; the first build takes a few minutes)"}

// Start starts a collector and waits until its HTTP receiver accepts traces.
func Start(t testing.TB) *Collector {
	t.Helper()
	dir := t.TempDir()
	httpPort, grpcPort := childproc.FreePortFor(t), childproc.FreePortFor(t)
	c := &Collector{t: t, file: filepath.Join(dir, "spans.json"),
		HTTPEndpoint: "http://127.0.0.1:" + strconv.Itoa(httpPort), GRPCEndpoint: "http://127.0.0.1:" + strconv.Itoa(grpcPort)}
	conf := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
      grpc:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
`, httpPort, grpcPort, c.file)
	confPath := filepath.Join(dir, "otelcol.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c.child = Tool.Run(t, dir, 5*time.Second, "--config", confPath)
	client := &http.Client{Timeout: 500 * time.Millisecond}
	childproc.WaitReady(t, "the collector's OTLP receiver", c.child.Exited, 30*time.Second, 50*time.Millisecond, c.child.Output.String,
		func() error {
			return childproc.Answered200(client.Post(c.HTTPEndpoint+"/v1/traces", "application/json",
				bytes.NewReader([]byte(`{"resourceSpans":[]}`))))
		})
	return c
}

// Stop stops the collector (SIGTERM, then SIGKILL after 5s).
func (c *Collector) Stop() {
	c.child.Stop(5 * time.Second)
}

// Log is what the collector printed.
func (c *Collector) Log() string { return c.child.Output.String() }

// Span is one span as the collector exported it.
type Span struct {
	TraceID, SpanID, ParentSpanID string
	Name                          string
	Kind                          int // OTLP SpanKind: 2 server, 3 client
	Attributes                    map[string]any
	Resource                      map[string]any
	StatusCode                    int // 0 unset, 1 ok, 2 error
	StatusMessage                 string
	// Raw is the span's JSON as the collector wrote it, for looking for what must not be there.
	Raw json.RawMessage
}

// Spans is every span the collector has written to its file so far.
func (c *Collector) Spans() ([]Span, error) {
	b, err := os.ReadFile(c.file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Span
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var doc tracesData
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			return nil, fmt.Errorf("the collector's file: %w", err)
		}
		for _, rs := range doc.ResourceSpans {
			res := attributes(rs.Resource.Attributes)
			for _, ss := range rs.ScopeSpans {
				for _, raw := range ss.Spans {
					var s otlpSpan
					if err := json.Unmarshal(raw, &s); err != nil {
						return nil, err
					}
					out = append(out, Span{TraceID: s.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, Name: s.Name,
						Kind: s.Kind, Attributes: attributes(s.Attributes), Resource: res,
						StatusCode: s.Status.Code, StatusMessage: s.Status.Message, Raw: raw})
				}
			}
		}
	}
	return out, sc.Err()
}

// WaitSpans polls the file until done holds for the spans read, or fails t after within.
func (c *Collector) WaitSpans(within time.Duration, done func([]Span) bool) []Span {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		spans, err := c.Spans()
		if err != nil {
			c.t.Fatal(err)
		}
		if done(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the collector did not receive the spans expected within %s; it has %d: %s", within, len(spans), c.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The OTLP JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// ids are hex strings, enums numbers, 64-bit integers strings.
type tracesData struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes []keyValue `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Spans []json.RawMessage `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

type otlpSpan struct {
	TraceID      string     `json:"traceId"`
	SpanID       string     `json:"spanId"`
	ParentSpanID string     `json:"parentSpanId"`
	Name         string     `json:"name"`
	Kind         int        `json:"kind"`
	Attributes   []keyValue `json:"attributes"`
	Status       struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

type keyValue struct {
	Key   string `json:"key"`
	Value struct {
		StringValue *string  `json:"stringValue"`
		IntValue    *string  `json:"intValue"`
		BoolValue   *bool    `json:"boolValue"`
		DoubleValue *float64 `json:"doubleValue"`
	} `json:"value"`
}

// attributes flattens OTLP attributes: strings, int64 (from their string form), bools, floats.
func attributes(kvs []keyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		v := kv.Value
		switch {
		case v.StringValue != nil:
			m[kv.Key] = *v.StringValue
		case v.IntValue != nil:
			n, _ := strconv.ParseInt(*v.IntValue, 10, 64)
			m[kv.Key] = n
		case v.BoolValue != nil:
			m[kv.Key] = *v.BoolValue
		case v.DoubleValue != nil:
			m[kv.Key] = *v.DoubleValue
		default:
			m[kv.Key] = nil
		}
	}
	return m
}
