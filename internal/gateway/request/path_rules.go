package request

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
)

// Request targets the gateway refuses before any other work (checkRequestTarget): on the
// proxy listener the request line's target, at the decision endpoint also the URI a proxy
// forwards (X-Forwarded-Uri, X-Original-URI, X-Original-URL).
//
//   - longer than adminapi.MaxRequestTargetBytes: 414;
//   - a path of more than adminapi.MaxPathSegments segments: 400;
//   - a raw "#": a request target never carries a fragment, and an upstream that parses the
//     target as a URL (Express, Python's urlsplit, WHATWG URL) reads "/a/secret#/meta" as
//     "/a/secret" while the policy saw a segment "secret#" and another, "meta" (400);
//   - in a forwarded URI (checkForwardedURI), a comma or whitespace as well: a proxy that
//     joins two values of a header sends "/public/x, /private/x", which is no request
//     target (400).

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

// checkRequestTarget refuses a request target (as sent: path and query, still escaped) that
// is too long, has too many segments or carries a raw "#"; see the comment at the top of the
// file. It reads each byte at most once, so it costs the same whatever comes after the
// limits.
func checkRequestTarget(target string) *refusal {
	if len(target) > adminapi.MaxRequestTargetBytes {
		return &refusal{outcome: metrics.BadRequest, status: http.StatusRequestURITooLong, code: "invalid_request",
			description: "the request target is longer than " + strconv.Itoa(adminapi.MaxRequestTargetBytes) + " bytes"}
	}
	segments, inPath := 0, true
	for i := 0; i < len(target); i++ {
		switch target[i] {
		case '/':
			if inPath {
				if segments++; segments > adminapi.MaxPathSegments {
					return badRequest("the request path has more than " + strconv.Itoa(adminapi.MaxPathSegments) + " segments")
				}
			}
		case '?':
			inPath = false
		case '#':
			return badRequest("the request target must not contain # (a fragment is never sent to a server)")
		}
	}
	return nil
}

// checkForwardedURI is checkRequestTarget for a URI an edge proxy forwarded in a header,
// which must also be one URI: no comma, no whitespace.
func checkForwardedURI(uri string) *refusal {
	if ref := checkRequestTarget(uri); ref != nil {
		return ref
	}
	if i := strings.IndexAny(uri, ", \t"); i >= 0 {
		return badRequest("the forwarded URI must be one request target, without commas or whitespace")
	}
	return nil
}

// refuseTarget answers a request whose target checkRequestTarget refused, before any other
// work; the access log keeps at most maxLoggedPath bytes of its path.
func (c *Checker) refuseTarget(w http.ResponseWriter, r *http.Request, rec *accesslog.Record, ref *refusal) {
	rec.Request(r)
	if rec != nil && len(rec.Path) > maxLoggedPath {
		rec.Path = rec.Path[:maxLoggedPath]
	}
	c.refuse(w, rec, &decision{}, ref)
}

const maxLoggedPath = 1024

// requestTarget is r's request target as received: RequestURI, or for a request built in
// process without one, the URL's.
func requestTarget(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
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
