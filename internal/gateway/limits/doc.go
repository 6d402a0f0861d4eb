// Package limits counts what the gateway lets through: each access policy's rate limit
// (a token bucket) and quota (a fixed window) per client, behind one interface, Counter, in
// this process's memory (Memory, limits.go) or in the Redis the replicas share (Redis,
// limits_redis.go), with what to do while Redis is unreachable (Fallback); the refused
// tokens per client address (FailedAuth, auth_failures.go); and the DPoP proofs already
// seen, in Redis with the same fallback (NewReplayStore, dpop_replay_redis.go).
//
// It does not decide which policy or client a request counts under (the request checks in
// internal/gateway/request do, and pass a Policy and a client id), which address a request comes
// from (trusted proxies are the request path's), nor how a refusal is answered (429 or
// 503 and the X-RateLimit-* headers are the request path's). It imports nothing of internal/gateway but
// the store (for its Redis client) and the token package (the replay store's interface).
package limits
