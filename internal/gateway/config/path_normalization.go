package config

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// Spellings that some upstreams read as another path, and what each API does with them
// (API.PathNormalization, named after Envoy's path_with_escaped_slashes_action). With a
// permissive API at "/" beside /orders on the same backend, /orders;x=1/private reaches the
// "/" API while Tomcat serves /orders/private; so do //orders/..., /orders./... (IIS and
// Windows drop trailing dots and spaces), their escaped forms (%3B, %2E, %20) and the
// fullwidth solidus (%EF%BC%8F, "/" under NFKC).
//
// An ambiguous path is looked up twice: as sent, and in its normal form (normalPath). The
// stricter of the two APIs found decides: reject_request refuses it (400);
// normalize_and_forward routes, decides and forwards the normal form (at the decision
// endpoint, the edge forwards the original, which such an upstream reads as the normal form);
// keep_unchanged treats it as any other path.
//
// An API with case_insensitive_paths (IIS, ASP.NET) is matched by the lower-cased path, and
// its policies decide on the lower-cased path; a request whose lower-cased path belongs to
// another API than its own spelling's goes to the case-insensitive one, or is refused when
// the API it reached is case-insensitive and the lower-cased path is another's.

// pathMode is a route's path normalization; a greater one is stricter.
type pathMode uint8

const (
	pathNoRoute pathMode = iota
	pathKeep
	pathNormalize
	pathReject
)

func pathModeOf(s string) pathMode {
	switch s {
	case adminapi.PathNormalizationKeep:
		return pathKeep
	case adminapi.PathNormalizationNormalize:
		return pathNormalize
	}
	return pathReject
}

func (r *Route) pathMode() pathMode {
	if r == nil {
		return pathNoRoute
	}
	return r.pathNorm
}

// SettlePath returns the route of a request whose path routes to rt, the path its policy
// decides on, and the path to forward instead of the request's own ("" to keep it), or why
// the request is refused (a bad request). A path that is neither ambiguous nor upper case with case-insensitive APIs around
// costs one scan and no allocation.
func (s *Snapshot) SettlePath(host, path string, rt *Route) (_ *Route, decide, forward, refused string) {
	decide = path
	if reason := ambiguousSpelling(path); reason != "" {
		np := normalPath(path)
		nrt := s.Lookup(host, np)
		switch max(rt.pathMode(), nrt.pathMode()) {
		case pathReject:
			return nil, "", "", reason + ": an upstream may read it as another path (path_normalization = \"" +
				adminapi.PathNormalizationReject + "\")"
		case pathNormalize:
			rt, decide, forward = nrt, np, np
		}
	}
	if s.routes.caseInsensitive > 0 && hasUpperASCII(decide) {
		lower := lowerASCII(decide)
		l := s.Lookup(host, lower)
		switch {
		case l == rt:
			if rt != nil && rt.CaseInsensitive {
				decide = lower
			}
		case l != nil && l.CaseInsensitive && (rt == nil || len(l.ListenPath) > len(rt.ListenPath)):
			rt, decide = l, lower
		case rt != nil && rt.CaseInsensitive:
			return nil, "", "", "the request path, lower-cased as this API's upstream reads it, belongs to another API"
		}
	}
	return rt, decide, forward, ""
}

// ambiguousSpelling says why a decoded path (checkRequestPath passed it) is ambiguous, or "".
func ambiguousSpelling(path string) string {
	ascii := true
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '/':
			if i+1 < len(path) && path[i+1] == '/' {
				return "the request path has an empty segment (//)"
			}
			if i > 0 && (path[i-1] == '.' || path[i-1] == ' ') {
				return "a segment of the request path ends in a dot or a space"
			}
		case c == ';':
			return "the request path has a ; (path parameters)"
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if n := len(path); n > 1 && (path[n-1] == '.' || path[n-1] == ' ') {
		return "a segment of the request path ends in a dot or a space"
	}
	if !ascii {
		if folded := norm.NFKC.String(path); folded != path && ambiguousSpelling(folded) != "" ||
			strings.Count(folded, "/") != strings.Count(path, "/") {
			return "the request path has a character that Unicode NFKC folds to / or ;, or to a trailing dot or space"
		}
	}
	return ""
}

// normalPath is the path an upstream that normalizes reads: NFKC applied, slashes merged,
// ";" parameters and trailing dots and spaces cut from each segment. It starts with "/".
func normalPath(path string) string {
	if !isASCII(path) {
		path = norm.NFKC.String(path)
	}
	var b strings.Builder
	b.Grow(len(path))
	for seg := range strings.SplitSeq(path, "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		if seg = strings.TrimRight(seg, ". "); seg != "" {
			b.WriteByte('/')
			b.WriteString(seg)
		}
	}
	if b.Len() == 0 || strings.HasSuffix(path, "/") {
		b.WriteByte('/')
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func hasUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// lowerASCII lower-cases ASCII letters only, so the result is as long as s and a listen
// path's length cuts it where it cuts s.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
