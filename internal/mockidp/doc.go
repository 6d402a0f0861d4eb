// Package mockidp is an in-process OAuth 2.0 / OpenID Connect identity provider for tests and
// for `idpgate mock-idp`. It is a real HTTP server, driven over the network exactly as
// Terraform and the gateway drive a real IdP:
//
//   - discovery at /.well-known/openid-configuration and /.well-known/oauth-authorization-server
//     (also in the RFC 8414 form when the issuer has a path);
//   - JWKS with RS256 keys; RotateKeys keeps the previous key published;
//   - a token endpoint for the client_credentials grant (client_secret_basic or
//     client_secret_post) minting RFC 9068 JWT access tokens (typ at+jwt), bound to the
//     client's key when it sends a DPoP proof (RFC 9449, cnf.jkt, dpop.go) and to its TLS
//     certificate when it is registered for that and the server runs with TLS (RFC 8705,
//     cnf x5t#S256); with RFC 8707 resource parameters (absolute URIs without a fragment,
//     else invalid_target) the token's aud is those resources instead of Options.Audience,
//     and discovery says so (resource_indicators_supported, a name some servers use: RFC
//     8707 registers none);
//   - introspection (RFC 7662) and revocation (RFC 7009), both for registered clients;
//   - okta: Okta's client secrets API, two secrets at once for rotation (okta_secrets.go);
//   - dynamic client registration (RFC 7591/7592) in the flavour of a real IdP;
//   - a log of every request (Requests) and deterministic fault injection (SetFaults).
//
// Paths relative to the issuer, per flavour (the generic token, jwks, introspect and revoke
// paths are also served by every flavour; discovery advertises the flavour's own):
//
//	flavour   registration                          token                            jwks
//	generic   /register                             /token                           /jwks
//	okta      /oauth2/v1/clients                    /oauth2/v1/token                 /oauth2/v1/keys
//	keycloak  /clients-registrations/openid-connect /protocol/openid-connect/token   /protocol/openid-connect/certs
//	hydra     /oauth2/register                      /oauth2/token                    /.well-known/jwks.json
//
// A client lives at {registration}/{client_id}. What each flavour does differently is
// described in flavor_<name>.go; use the Server's endpoint methods rather than these paths.
//
// Discovery: the okta, keycloak and hydra flavours advertise the *_supported lists their IdPs
// document (Okta's org authorization server; a Keycloak realm, per OIDCWellKnownProvider;
// Hydra v2.3.0's document as internal/hydratest serves it), registration, introspection and
// revocation endpoints included where the IdP advertises them. The
// generic flavour is a plain RFC 8414 server with only what the mock implements.
//
// Where the mock differs from the IdP it imitates, on purpose:
//
//   - okta: the token endpoint grants client_credentials at the org's /oauth2/v1/token.
//     Real Okta grants it, for scopes an API of yours may check, only at a custom
//     authorization server ({org}/oauth2/{id}, issuer with that path), whose discovery names
//     the org-level {org}/oauth2/v1/clients as registration_endpoint: outside the issuer. The
//     mock keeps every endpoint under one issuer, and its discovery lists the org server's
//     grant types (no client_credentials) as Okta's does.
//   - okta, keycloak: discovery lists client authentication methods (private_key_jwt,
//     client_secret_jwt, tls_client_auth, none) the mock's token endpoint does not accept:
//     a client that picks one fails here, so the mock is stricter, not kinder.
//   - every flavour advertises dpop_signing_alg_values_supported and binds tokens to a DPoP
//     key; Okta does so, Keycloak only with its DPoP feature enabled.
//   - hydra: its discovery is the concern of flavor_hydra.go.
//   - okta, client secrets API (okta_secrets.go, /api/v1/apps/{id}/credentials/secrets):
//     Okta documents at most two secrets, creation answering the secret in clear, and delete
//     only for an INACTIVE secret; the error texts are the mock's own in Okta's shape (400
//     E0000001 with errorCauses, 404 E0000007). Three choices where Okta's documentation is
//     silent, each the stricter one: list, get and lifecycle answers carry client_secret as
//     an undisclosed hash (as Okta documents for API service integrations), never in clear;
//     the only ACTIVE secret cannot be deactivated; and while a client has two secrets, the
//     client API (/oauth2/v1/clients/{id}) answers neither, so a caller must keep the one it
//     created. secret_hash is the mock's own (Okta does not document its algorithm).
//   - generic: Options.RotateSecretOnUpdate issues a new secret in every update answer, as
//     RFC 7592 §2.2 allows some servers to; off by default, as most servers keep the secret.
package mockidp
