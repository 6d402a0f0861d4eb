// Package accesslog writes the gateway's access log, one JSON line per request on the proxy
// listener, encoded by hand into pooled buffers and written in whole lines (accesslog.go),
// and starts and ends each request's server span when tracing is on (span.go). The gateway
// wraps its proxy handler in Log.Serve and notes on the Record what its checks decided.
//
// It does not decide what a request's outcome is, nor which API, identity or policy it had
// (the request checks in internal/gateway/request do, and pass them as strings in
// Checked), nor which child spans a request has (internal/gateway/request's
// tracing_wiring.go). It imports nothing
// of internal/gateway but the tracing package.
package accesslog
