package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// A DPoP proof (RFC 9449) is checked as §4.3 says, in this order: one compact JWS of at most
// 8 KiB; typ dpop+jwt; an asymmetric alg from the allow-list; a public jwk in the header,
// which verifies the signature and whose SHA-256 thumbprint (RFC 7638) equals the token's
// cnf.jkt; htm equal to the request's method; htu equal to the URL the client addressed,
// without query and fragment, compared after RFC 3986 syntax normalisation; iat no older
// than DPoPProofMaxAge and no later than DPoPProofMaxSkew; ath equal to the base64url
// SHA-256 of the access token; and a jti not seen for this key within the proof's lifetime
// (the replay cache). The proof's own kid, jku, x5u and x5c are never used.

// DPoP proof bounds.
const (
	// DPoPProofMaxAge is how old a proof's iat may be; also how long its jti is remembered.
	DPoPProofMaxAge = 60 * time.Second
	// DPoPProofMaxSkew is how far in the future a proof's iat may be (clock skew).
	DPoPProofMaxSkew = 5 * time.Second
	// maxReplayEntries bounds the replay cache; when it is full of live entries, proofs are
	// refused as unavailable rather than remembered less (which would allow replays).
	maxReplayEntries = 1 << 20
)

// dpopAlgs are the algorithms a proof may use: asymmetric only (the key is in the proof).
var dpopAlgs = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
}

// DPoPAlgorithms lists dpopAlgs for the algs parameter of a DPoP challenge.
func DPoPAlgorithms() string { return dpopAlgNames }

var dpopAlgNames = func() string {
	names := make([]string, len(dpopAlgs))
	for i, a := range dpopAlgs {
		names[i] = string(a)
	}
	return strings.Join(names, " ")
}()

// CodeInvalidDPoPProof is RFC 9449 §7.1's error for a missing or bad proof.
const CodeInvalidDPoPProof Code = "invalid_dpop_proof"

// DPoPRequest is what a proof is checked against.
type DPoPRequest struct {
	// Proof is the value of the request's one DPoP header.
	Proof string
	// Method is the HTTP method and URL the URL the client addressed (scheme, host, path;
	// query and fragment are ignored).
	Method, URL string
	// AccessToken is the token presented with the proof.
	AccessToken string
	// JKT is the token's cnf.jkt.
	JKT string
	// DryRun checks the proof without remembering its jti (a decision without traffic):
	// the proof stays usable once, for the real request. Whether it was used before is not
	// checked either.
	DryRun bool
}

// DPoPChecker checks proofs and remembers their jti. Safe for concurrent use.
type DPoPChecker struct {
	now    func() time.Time
	replay ReplayStore
	keys   *proofKeys
}

// ReplayStore remembers the proofs already used. FirstUse reports whether id is new and, if
// so, remembers it until until; an error means it cannot tell (the proof is then refused as
// temporarily unavailable).
type ReplayStore interface {
	FirstUse(ctx context.Context, id string, until, now time.Time) (bool, error)
}

// NewDPoPChecker returns a checker; now nil means time.Now, replay nil an in-memory replay
// cache (NewMemoryReplayStore), which is per process.
func NewDPoPChecker(now func() time.Time, replay ReplayStore) *DPoPChecker {
	if now == nil {
		now = time.Now
	}
	if replay == nil {
		replay = NewMemoryReplayStore()
	}
	return &DPoPChecker{now: now, replay: replay, keys: newProofKeys()}
}

// Check returns nil when the proof is good, or an *Error with CodeInvalidDPoPProof (or
// CodeUnavailable when the replay cache is full).
func (c *DPoPChecker) Check(ctx context.Context, req DPoPRequest) *Error {
	if len(req.Proof) == 0 || len(req.Proof) > maxTokenBytes || !compactIsCanonical(req.Proof) {
		return badProof("not one compact JWS of canonical base64url within 8 KiB")
	}
	header, rest, _ := strings.Cut(req.Proof, ".")
	payloadSegment, signatureSegment, _ := strings.Cut(rest, ".")
	var payload []byte
	known, parsed := c.keys.get(header), (*proofKey)(nil)
	if known != nil {
		sig, err := base64.RawURLEncoding.DecodeString(signatureSegment)
		if err != nil || !verifyWith(known.alg, known.key, req.Proof[:len(header)+1+len(payloadSegment)], sig) {
			return badProof("signature: does not verify with the header's jwk")
		}
		if known.jkt != req.JKT {
			return badProof("the proof's key is not the one the token is bound to (cnf.jkt)")
		}
		if payload, err = base64.RawURLEncoding.DecodeString(payloadSegment); err != nil {
			return badProof("payload: " + err.Error())
		}
	} else {
		var e *Error
		if payload, parsed, e = parseProof(req.Proof, payloadSegment); e != nil {
			return e
		}
		if parsed.jkt != req.JKT {
			return badProof("the proof's key is not the one the token is bound to (cnf.jkt)")
		}
	}
	var claims struct {
		JTI string   `json:"jti"`
		HTM string   `json:"htm"`
		HTU string   `json:"htu"`
		IAT *float64 `json:"iat"`
		ATH string   `json:"ath"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return badProof("claims: " + err.Error())
	}
	if claims.JTI == "" || len(claims.JTI) > 256 || claims.IAT == nil {
		return badProof("jti and iat are required")
	}
	if claims.HTM != req.Method {
		return badProof(fmt.Sprintf("htm %q is not the request's method %s", claims.HTM, req.Method))
	}
	if !sameHTU(claims.HTU, req.URL) {
		return badProof(fmt.Sprintf("htu %q is not the request's URL %s", claims.HTU, req.URL))
	}
	now := c.now()
	iat := time.Unix(int64(*claims.IAT), 0)
	if iat.Before(now.Add(-DPoPProofMaxAge)) || iat.After(now.Add(DPoPProofMaxSkew)) {
		return badProof(fmt.Sprintf("iat %s is outside -%s..+%s of now", iat.UTC().Format(time.RFC3339), DPoPProofMaxAge, DPoPProofMaxSkew))
	}
	ath := sha256.Sum256([]byte(req.AccessToken))
	if claims.ATH != base64.RawURLEncoding.EncodeToString(ath[:]) {
		return badProof("ath is not the hash of the access token")
	}
	if req.DryRun {
		return nil
	}
	first, err := c.replay.FirstUse(ctx, req.JKT+"\x00"+claims.JTI, iat.Add(DPoPProofMaxAge+DPoPProofMaxSkew), now)
	switch {
	case err != nil:
		return unavailable("dpop: replay cache: " + err.Error())
	case !first:
		return badProof("jti " + claims.JTI + " was used before")
	}
	if parsed != nil {
		c.keys.put(header, parsed)
	}
	return nil
}

func badProof(reason string) *Error {
	return &Error{Code: CodeInvalidDPoPProof, Description: "The DPoP proof is invalid.", Reason: "dpop: " + reason}
}

// parseProof checks a proof whose header is not in the cache with go-jose: the header (typ,
// allowed alg, a valid public jwk) and the signature. It returns the payload and what the
// cache may remember of the header; the payload must be the plain base64url decoding of its
// segment (no b64:false), so that cached headers' proofs are read the same way.
func parseProof(proof, payloadSegment string) ([]byte, *proofKey, *Error) {
	jws, err := jose.ParseSignedCompact(proof, dpopAlgs)
	if err != nil {
		return nil, nil, badProof("parse: " + err.Error())
	}
	if len(jws.Signatures) != 1 {
		return nil, nil, badProof("not exactly one signature")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return nil, nil, badProof(fmt.Sprintf("typ %q is not dpop+jwt", typ))
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.IsPublic() || !jwk.Valid() {
		return nil, nil, badProof("no public jwk in the header")
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, nil, badProof("signature: " + err.Error())
	}
	if plain, err := base64.RawURLEncoding.DecodeString(payloadSegment); err != nil || !bytes.Equal(plain, payload) {
		return nil, nil, badProof("the payload is not base64url-encoded JSON")
	}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, nil, badProof("thumbprint: " + err.Error())
	}
	return payload, &proofKey{alg: jose.SignatureAlgorithm(h.Algorithm), key: jwk.Key, jkt: base64.RawURLEncoding.EncodeToString(thumb)}, nil
}

// sameHTU compares a proof's htu with the request URL after RFC 3986 §6.2.2 and §6.2.3
// normalisation (case of scheme and host, default port, percent-encoding case, empty path),
// ignoring query and fragment (RFC 9449 §4.3 point 9).
func sameHTU(htu, requestURL string) bool {
	a, errA := normalizeHTU(htu)
	b, errB := normalizeHTU(requestURL)
	return errA == nil && errB == nil && a == b
}

func normalizeHTU(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("not an absolute URL")
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	defaultPort := scheme == "https" && u.Port() == "443" || scheme == "http" && u.Port() == "80"
	if port := u.Port(); port != "" && !defaultPort {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	// Re-encode from the decoded path so %7e and ~, or %2f and %2F, compare alike.
	if p, err := url.PathUnescape(path); err == nil {
		path = (&url.URL{Path: p}).EscapedPath()
	}
	return scheme + "://" + host + path, nil
}

// MemoryReplayStore remembers each (key, jti) in memory until the proof could no longer be
// accepted anyway. When full of live entries it refuses rather than forgets (which would
// allow replays).
type MemoryReplayStore struct {
	mu        sync.Mutex
	seen      map[[sha256.Size]byte]time.Time
	nextSweep time.Time
}

// NewMemoryReplayStore returns an empty in-memory replay store.
func NewMemoryReplayStore() *MemoryReplayStore {
	return &MemoryReplayStore{seen: map[[sha256.Size]byte]time.Time{}}
}

var errReplayCacheFull = errors.New("full")

// FirstUse implements ReplayStore.
func (r *MemoryReplayStore) FirstUse(_ context.Context, id string, until, now time.Time) (bool, error) {
	k := sha256.Sum256([]byte(id))
	r.mu.Lock()
	defer r.mu.Unlock()
	if exp, ok := r.seen[k]; ok && now.Before(exp) {
		return false, nil
	}
	if len(r.seen) >= maxReplayEntries || now.After(r.nextSweep) {
		for key, exp := range r.seen {
			if !now.Before(exp) {
				delete(r.seen, key)
			}
		}
		r.nextSweep = now.Add(DPoPProofMaxAge)
		if len(r.seen) >= maxReplayEntries {
			return false, errReplayCacheFull
		}
	}
	r.seen[k] = until
	return true, nil
}
