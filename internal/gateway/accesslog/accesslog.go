package accesslog

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// The access log: one JSON line per request on the proxy listener (proxied or decided),
// written when the answer is complete:
//
//	{"time":…,"msg":"access","api":"orders","method":"GET","path":"/orders/1","status":200,
//	 "outcome":"forwarded","client_id":"app","subject":"alice","policy":"pol_…",
//	 "upstream_ms":1.2,"duration_ms":1.9,"bytes":512,"remote":"10.0.0.7:51234"}
//
// The path is logged without its query (whose values may carry anything); no header is
// logged, so neither a token nor a claim the API does not forward can appear. A decision
// logs the request it was about, with "decision":true. With tracing on, the line ends with
// the request's "trace_id" and "span_id" (its server span; span.go) and
// "trace_sampled" (false: the trace id was passed upstream but no span was exported).

// Log writes the lines; nil means the access log and tracing are off. With tracing
// on, it also starts and ends each request's server span, and w is nil when only tracing is. Lines are encoded by hand
// into pooled buffers and written through a buffer flushed every flushEvery (and
// when it fills, and on Close), so a line costs no allocation beyond the request's and no
// system call of its own: at most that long of lines is lost if the process is killed.
type Log struct {
	mu      sync.Mutex
	w       *bufio.Writer
	stop    chan struct{}
	stopped sync.WaitGroup
	lines   sync.Pool // *[]byte
	writers sync.Pool // *responseWriter
	tracer  *tracing.Tracer
}

const (
	flushEvery = 200 * time.Millisecond
	bufferSize = 64 << 10
)

// New returns the log that writes to w (nil: no lines) and starts each request's server
// span with tracer (off: no span); nil when both are off.
func New(w io.Writer, tracer *tracing.Tracer) *Log {
	if w == nil && !tracer.On() {
		return nil
	}
	l := &Log{tracer: tracer, stop: make(chan struct{})}
	l.writers.New = func() any { return new(responseWriter) }
	if w == nil {
		return l // spans only: no line, no flusher
	}
	l.w = bufio.NewWriterSize(wholeLines{w}, bufferSize)
	l.lines.New = func() any { b := make([]byte, 0, 512); return &b }
	l.stopped.Add(1)
	go func() {
		defer l.stopped.Done()
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.Flush()
			case <-l.stop:
				l.Flush()
				return
			}
		}
	}()
	return l
}

// wholeLines writes in pieces of whole lines of at most pipeAtomicWrite bytes (a longer line
// alone): a write to a pipe (stderr under systemd or a container runtime) is atomic only up
// to that size, and the gateway's other logs share the destination.
type wholeLines struct{ w io.Writer }

const pipeAtomicWrite = 4096

func (wl wholeLines) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := len(p)
		if n > pipeAtomicWrite {
			if i := bytes.LastIndexByte(p[:pipeAtomicWrite], '\n'); i >= 0 {
				n = i + 1
			} else if i := bytes.IndexByte(p, '\n'); i >= 0 {
				n = i + 1
			}
		}
		m, err := wl.w.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// writeLine buffers one line. A line that does not fit in what is left of the buffer first
// flushes the lines before it: bufio would otherwise fill the buffer with its beginning and
// write that, so the line would reach the destination in two writes.
func (l *Log) writeLine(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(b) > l.w.Available() && l.w.Buffered() > 0 {
		_ = l.w.Flush()
	}
	_, _ = l.w.Write(b) // as flush: a failing destination has nowhere to be reported
}

// Flush writes out the buffered lines.
func (l *Log) Flush() {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.Flush() // nowhere to report a failing log destination but the log itself
}

// Close stops the flusher after a last flush.
func (l *Log) Close() {
	if l == nil {
		return
	}
	close(l.stop)
	l.stopped.Wait()
}

// Record is what the checks found out about one request, for its log line and its server
// span. Its methods do nothing on a nil record (access log and tracing off); a caller that
// sets a field checks for nil first.
type Record struct {
	Decision          bool // a decision request: the line is about the request it names
	Method, Path      string
	API, Outcome      string
	ClientID, Subject string
	Policy            string
	Upstream          time.Duration
	// span is the request's server span; nil when tracing is off.
	span trace.Span
}

// Request notes the method and the path (without its query) of r.
func (rec *Record) Request(r *http.Request) {
	if rec != nil {
		rec.Method, rec.Path = r.Method, r.URL.EscapedPath()
	}
}

// Checked is what the checks decided about a request: its outcome (the outcome label of
// idpgate_requests_total), its API once routed, and the identity and policy when the token
// was accepted ("" for what is not known).
type Checked struct {
	Outcome           string
	API, APIID        string // the API's name and id
	ClientID, Subject string
	Policy            string // the policy's id
}

// Decided notes what the checks decided, on the line and on the server span.
func (rec *Record) Decided(c Checked) {
	if rec == nil {
		return
	}
	rec.Outcome, rec.API, rec.ClientID, rec.Subject, rec.Policy = c.Outcome, c.API, c.ClientID, c.Subject, c.Policy
	rec.traceDecided(&c)
}

// responseWriter records the status and size of the answer; it unwraps to the server's writer,
// so ReverseProxy can still flush and hijack (upgrades) through it.
type responseWriter struct {
	http.ResponseWriter
	rec    Record
	status int
	bytes  int64
	start  time.Time
}

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Serve runs next with a recording writer and writes the line afterwards.
func (l *Log) Serve(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request, *Record)) {
	aw := l.writers.Get().(*responseWriter)
	*aw = responseWriter{ResponseWriter: w, start: time.Now()}
	if l.tracer.On() {
		r, aw.rec.span = l.startServerSpan(r) // span.go
	}
	next(aw, r, &aw.rec)
	if aw.rec.span != nil {
		endServerSpan(aw.rec.span, aw.status)
	}
	if l.w != nil {
		l.write(r, aw)
	}
	*aw = responseWriter{}
	l.writers.Put(aw)
}

// write encodes the line of one finished request, in the JSON shape log/slog would give it.
func (l *Log) write(r *http.Request, aw *responseWriter) {
	rec := &aw.rec
	bp := l.lines.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"access"`...)
	b = appendField(b, `,"api":`, rec.API)
	b = appendField(b, `,"method":`, rec.Method)
	b = appendField(b, `,"path":`, rec.Path)
	b = strconv.AppendInt(append(b, `,"status":`...), int64(aw.status), 10)
	b = appendField(b, `,"outcome":`, rec.Outcome)
	b = appendField(b, `,"client_id":`, rec.ClientID)
	b = appendField(b, `,"subject":`, rec.Subject)
	b = appendField(b, `,"policy":`, rec.Policy)
	b = strconv.AppendFloat(append(b, `,"upstream_ms":`...), milliseconds(rec.Upstream), 'f', -1, 64)
	b = strconv.AppendFloat(append(b, `,"duration_ms":`...), milliseconds(time.Since(aw.start)), 'f', -1, 64)
	b = strconv.AppendInt(append(b, `,"bytes":`...), aw.bytes, 10)
	b = appendField(b, `,"remote":`, r.RemoteAddr)
	b = strconv.AppendBool(append(b, `,"decision":`...), rec.Decision)
	if rec.span != nil {
		if sc := rec.span.SpanContext(); sc.IsValid() {
			tid, sid := sc.TraceID(), sc.SpanID()
			b = append(b, `,"trace_id":"`...)
			b = hex.AppendEncode(b, tid[:])
			b = append(b, `","span_id":"`...)
			b = hex.AppendEncode(b, sid[:])
			b = append(b, `","trace_sampled":`...)
			b = strconv.AppendBool(b, sc.IsSampled())
		}
	}
	b = append(b, "}\n"...)
	l.writeLine(b)
	*bp = b
	l.lines.Put(bp)
}

// appendField appends the key (its comma, quotes and colon included) and s as a JSON string.
func appendField(b []byte, key, s string) []byte {
	return appendJSONString(append(b, key...), s)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced (a client chooses the path; the line must stay JSON).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return append(b, '"')
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
