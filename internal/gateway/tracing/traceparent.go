package tracing

import "net/http"

// MalformedTraceparent reports whether h carries a traceparent that W3C Trace Context
// (https://www.w3.org/TR/trace-context/#traceparent-header) says must not be used: more than
// one, or one that is not version-traceid-parentid-flags in lowercase hex, with a version
// other than ff, a trace id and a parent id not all zeros, and (version 00) nothing after the
// flags; a later version may go on after the flags, behind a "-". No traceparent is not
// malformed. It allocates nothing.
func MalformedTraceparent(h http.Header) bool {
	vs, present := h["Traceparent"]
	if !present {
		return false
	}
	if len(vs) != 1 {
		return true
	}
	v := vs[0]
	const size = 55 // 2+1+32+1+16+1+2
	if len(v) < size || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return true
	}
	if !lowerHex(v[0:2]) || v[0:2] == "ff" || !lowerHex(v[3:35]) || !lowerHex(v[36:52]) || !lowerHex(v[53:55]) {
		return true
	}
	if allZeros(v[3:35]) || allZeros(v[36:52]) {
		return true
	}
	if len(v) > size && (v[0:2] == "00" || v[size] != '-') {
		return true
	}
	return false
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
