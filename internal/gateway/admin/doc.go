// Package admin is the gateway's admin listener: the admin API of package adminapi over the
// store (APIs and policies: list, get, create, replace, delete), the decisions without
// traffic (POST /v1/decisions), the admin token in front of them, and the unauthenticated
// /healthz, /readyz and /metrics.
//
//   - admin.go: New and its Options, the routes, the token check (constant-time, on hashes),
//     and /v1/decisions' reading and answering (a Decider, the request path, simulates);
//   - objects.go: APIs and policies, served by one generic path (objects): paging, writes
//     through config.Live.Commit, the write-only introspection secret;
//   - answer.go: reading a body (bounded, strict, the offending field named) and every error
//     answer (store errors, an unreachable Redis, a write stored but not served);
//   - health.go: liveness, readiness (the store and the snapshot served) and metrics.
//
// It imports the contract (internal/adminapi), the store, the configuration served
// (internal/gateway/config) and the token package's Bearer; what it needs of the request path
// (the placement of an API's targets and listen path, the simulation of a decision) the
// gateway gives it as a function and an interface, so it never imports the request path.
package admin
