package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
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
// logs the request it was about, with "decision":true.

// accessLog writes the lines; nil means the access log is off.
type accessLog struct {
	log     *slog.Logger
	writers sync.Pool
}

func newAccessLog(w io.Writer) *accessLog {
	if w == nil {
		return nil
	}
	l := &accessLog{log: slog.New(slog.NewJSONHandler(w, nil))}
	l.writers.New = func() any { return new(accessWriter) }
	return l
}

// accessRecord is what the checks found out about one request, for its log line. Its
// methods do nothing on a nil record (access log off).
type accessRecord struct {
	decision             bool
	method, path         string
	api, outcome         string
	client, subj, policy string
	upstream             time.Duration
}

func (rec *accessRecord) request(r *http.Request) {
	if rec != nil {
		rec.method, rec.path = r.Method, r.URL.EscapedPath()
	}
}

// decided notes the route, the identity (when the token was accepted) and the outcome.
func (rec *accessRecord) decided(d *decision, o outcome) {
	if rec == nil {
		return
	}
	rec.outcome = outcomeNames[o]
	if d.route != nil {
		rec.api = d.route.name
	}
	if d.id != nil {
		rec.client, rec.subj = d.id.ClientID, d.id.Subject
	}
	if d.policy != nil {
		rec.policy = d.policy.id
	}
}

// accessWriter records the status and size of the answer; it unwraps to the server's writer,
// so ReverseProxy can still flush and hijack (upgrades) through it.
type accessWriter struct {
	http.ResponseWriter
	rec    accessRecord
	status int
	bytes  int64
	start  time.Time
}

func (w *accessWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *accessWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *accessWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serve runs next with a recording writer and writes the line afterwards.
func (l *accessLog) serve(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request, *accessRecord)) {
	aw := l.writers.Get().(*accessWriter)
	*aw = accessWriter{ResponseWriter: w, start: time.Now()}
	next(aw, r, &aw.rec)
	rec := &aw.rec
	attrs := [...]slog.Attr{
		slog.String("api", rec.api),
		slog.String("method", rec.method),
		slog.String("path", rec.path),
		slog.Int("status", aw.status),
		slog.String("outcome", rec.outcome),
		slog.String("client_id", rec.client),
		slog.String("subject", rec.subj),
		slog.String("policy", rec.policy),
		slog.Float64("upstream_ms", milliseconds(rec.upstream)),
		slog.Float64("duration_ms", milliseconds(time.Since(aw.start))),
		slog.Int64("bytes", aw.bytes),
		slog.String("remote", r.RemoteAddr),
		slog.Bool("decision", rec.decision),
	}
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs[:]...)
	*aw = accessWriter{}
	l.writers.Put(aw)
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
