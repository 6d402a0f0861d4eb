// Package metrics defines the gateway's Prometheus collectors (New registers them, sharing
// identical ones already on the registry), the outcome of a proxy request (Outcome, the
// outcome label of idpgate_requests_total), and one API's series resolved once per
// configuration snapshot (Route), so the request path counts without hashing label values.
//
// It does not decide a request's outcome, nor when a series moves (the gateway's request
// checks, proxy and snapshot publishing do), nor serve /metrics (the admin listener does).
// It imports nothing of internal/gateway but the store (for idpgate_store_up).
package metrics
