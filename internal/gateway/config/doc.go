// Package config is the configuration the gateway serves, as the request path reads it: one
// immutable Snapshot of the protected APIs and access policies, compiled once per change so
// that deciding a request allocates nothing.
//
//   - snapshot.go: the Snapshot, its Routes and their index by host and listen path (Lookup),
//     and the Builder that makes a snapshot from the stored objects;
//   - path_normalization.go: SettlePath, which route and which path decide an ambiguous or
//     upper-case request path;
//   - policy.go: compiled access policies (grants, method sets, path patterns), the
//     PolicyIndex and Authorize / AuthorizeTraced;
//   - conditions.go: compiled CEL conditions, their evaluation and the request they read;
//   - cors.go: an API's compiled CORS policy: which origins, methods and headers it allows
//     and the headers of its answers;
//   - resource.go: an API's RFC 9728 protected resource metadata, found by host and path;
//   - snapshot_change.go: a store write applied to a snapshot in place (Change);
//   - snapshot_publish.go: Live, the snapshot served now and how admin writes (Commit) and
//     other replicas' changes (CatchUp) reach it, or a reload of the whole store.
//
// It imports the contract (internal/adminapi), the store, the token package and Prometheus,
// never the gateway that wires it: what a route needs from the rooms above (its reverse
// proxy, its metric series) the Builder makes with the functions the gateway gives it.
// Answering HTTP (preflights, the metadata document, refusals) is the request path's.
package config
