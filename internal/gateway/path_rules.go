package gateway

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Request paths the gateway refuses (400 invalid_request) before routing, because the policy
// would decide on one path while some upstream acts on another. Every path that passes reaches
// the upstream in its original escaped form, and that form decodes to exactly the path the
// route and the policy were matched against.
//
//   - not starting with "/";
//   - a "." or ".." segment, also when spelled %2e, followed by ";parameters" (Tomcat and
//     Jetty read "..;" as ".."), or in a Unicode form that NFKC folds to dots
//     (%ef%bc%8e is U+FF0E FULLWIDTH FULL STOP; IIS and Java normalisers fold it);
//   - an encoded slash or backslash (%2f, %5c): the policy sees two segments where most
//     upstreams see one, and others decode it and see two (Apache and Tomcat refuse it too);
//   - a backslash, a control character or a byte sequence that is not UTF-8 after decoding
//     (%c0%ae is an overlong "."; Windows upstreams read "\" as "/");
//   - an encoded percent followed by two hex digits (%252e): an upstream that decodes twice
//     would act on "%2e", i.e. ".".
func checkRequestPath(u *url.URL) (reason string, ok bool) {
	path := u.Path
	if !strings.HasPrefix(path, "/") {
		return "the request path must start with /", false
	}
	if raw := u.RawPath; raw != "" && hasEncodedSeparator(raw) {
		return "the request path must not contain an encoded / or \\ (%2F, %5C)", false
	}
	if !utf8.ValidString(path) {
		return "the request path must be UTF-8 once percent-decoded", false
	}
	reason, ascii := checkDecodedPath(path)
	if reason == "" && !ascii {
		// Check again what a normalising upstream would read.
		if reason, _ = checkDecodedPath(norm.NFKC.String(path)); reason != "" {
			reason += " (after Unicode NFKC normalisation)"
		}
	}
	return reason, reason == ""
}

// checkDecodedPath applies the byte rules and the dot-segment rule to a decoded path; ascii
// reports whether the path is plain ASCII (then NFKC cannot change it).
func checkDecodedPath(path string) (reason string, ascii bool) {
	ascii = true
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c < 0x20 || c == 0x7f:
			return "the request path must not contain control characters", ascii
		case c == '\\':
			return "the request path must not contain a backslash", ascii
		case c == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]):
			return "the request path must not be percent-encoded twice", ascii
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if hasDotSegment(path) {
		return "the request path must not contain . or .. segments", ascii
	}
	return "", ascii
}

// hasEncodedSeparator reports whether an escaped path carries %2F or %5C (any case).
func hasEncodedSeparator(raw string) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] == '%' && (raw[i+1] == '2' && (raw[i+2] == 'f' || raw[i+2] == 'F') ||
			raw[i+1] == '5' && (raw[i+2] == 'c' || raw[i+2] == 'C')) {
			return true
		}
	}
	return false
}

// hasDotSegment reports whether a decoded path has a segment that some upstream reads as "."
// or "..": the segment itself, or the part of it before a ";".
func hasDotSegment(path string) bool {
	if !strings.Contains(path, ".") {
		return false
	}
	for seg := range strings.SplitSeq(path, "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
