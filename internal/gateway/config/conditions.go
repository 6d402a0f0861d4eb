package config

import (
	"net/http"
	"reflect"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Conditions are the compiled CEL conditions of an API or an access right
// (adminapi/conditions.go), built with the snapshot, once per configuration change.
type Conditions struct {
	// field is where they are configured: "conditions" of the API, or
	// "access_rights[i].conditions" of a policy.
	field string
	// programs evaluate without counting cost, bounded with CEL's runtime cost limit
	// (adminapi.CompiledCondition).
	programs, bounded []cel.Program
	// broken is set when the stored expressions no longer compile (they were accepted by
	// another version of the gateway): then nothing meets them, rather than everything.
	broken bool
}

// compileConditions compiles a stored list of conditions; field names it in the error.
func compileConditions(field string, exprs []string) (Conditions, error) {
	if len(exprs) == 0 {
		return Conditions{}, nil
	}
	compiled, err := adminapi.CompileConditions(field, exprs)
	if err != nil {
		return Conditions{field: field, broken: true}, err
	}
	c := Conditions{field: field, programs: make([]cel.Program, len(compiled)), bounded: make([]cel.Program, len(compiled))}
	for i, cc := range compiled {
		c.programs[i], c.bounded[i] = cc.Program, cc.Bounded
	}
	return c, nil
}

func (c *Conditions) empty() bool { return len(c.programs) == 0 && !c.broken }

// ConditionFailure says which condition refused a request: its index in its list, and
// whether it evaluated to false or failed (a missing claim, a value of the wrong type, the
// cost bound). Never the values it looked at.
type ConditionFailure struct {
	Field  string
	Index  int
	Failed bool // an evaluation error, not false
}

// eval returns nil when every condition holds, else the first that does not.
func (c *Conditions) eval(in *conditionInput) *ConditionFailure {
	if c.broken {
		return &ConditionFailure{Field: c.field, Index: 0, Failed: true}
	}
	programs := c.programs
	if !in.withinEstimate() {
		programs = c.bounded
	}
	for i, p := range programs {
		out, _, err := p.Eval(in)
		if err != nil {
			return &ConditionFailure{Field: c.field, Index: i, Failed: true}
		}
		if out != types.True {
			return &ConditionFailure{Field: c.field, Index: i}
		}
	}
	return nil
}

// ConditionSource makes a request's condition input on first use, so a request whose API
// and policies have no conditions never builds one. It also notes the first condition of a
// policy that refused the request, for the log.
type ConditionSource struct {
	// RemoteIP resolves request.remote_ip when a condition reads it.
	RemoteIP func(*http.Request) string
	Request  *http.Request
	Identity *token.Identity
	Now      time.Time
	// boundedClaims: see conditionInput.
	BoundedClaims bool
	in            *conditionInput

	FailedPolicy *Policy
	Failure      *ConditionFailure
}

// Holds evaluates c for the request; a nil source meets no conditions.
func (s *ConditionSource) Holds(c *Conditions, p *Policy) bool {
	if c.empty() {
		return true
	}
	if s == nil {
		return false
	}
	if s.in == nil {
		s.in = &conditionInput{remoteIP: s.RemoteIP, r: s.Request, id: s.Identity, now: s.Now, boundedClaims: s.BoundedClaims}
	}
	f := c.eval(s.in)
	if f != nil && s.Failure == nil {
		s.FailedPolicy, s.Failure = p, f
	}
	return f == nil
}

// conditionInput is the activation conditions are evaluated against: it resolves each
// variable the first time an expression asks for it, without copying the claims or the
// headers into maps.
type conditionInput struct {
	remoteIP func(*http.Request) string
	r        *http.Request
	id       *token.Identity
	now      time.Time
	// boundedClaims: the claims come from a JWT, so they are within the estimate's sizes; an
	// introspection answer may be larger.
	boundedClaims bool
	// sized: 0 not yet known, 1 within the estimate's sizes, 2 not.
	sized uint8

	claims, scopes, headers ref.Val
}

var _ interpreter.Activation = (*conditionInput)(nil)

func (in *conditionInput) ResolveName(name string) (any, bool) {
	switch name {
	case adminapi.VarClaims:
		if in.claims == nil {
			claims := in.id.Claims
			if claims == nil {
				claims = map[string]any{}
			}
			in.claims = types.NewStringInterfaceMap(types.DefaultTypeAdapter, claims)
		}
		return in.claims, true
	case adminapi.VarClientID:
		return types.String(in.id.ClientID), true
	case adminapi.VarSubject:
		return types.String(in.id.Subject), true
	case adminapi.VarScopes:
		if in.scopes == nil {
			in.scopes = types.NewStringList(types.DefaultTypeAdapter, in.id.Scopes)
		}
		return in.scopes, true
	case adminapi.VarRequestMethod:
		return types.String(in.r.Method), true
	case adminapi.VarRequestPath:
		return types.String(in.r.URL.Path), true
	case adminapi.VarRequestHost:
		return types.String(adminapi.NormalizeHost(in.r.Host)), true
	case adminapi.VarRequestHeaders:
		if in.headers == nil {
			in.headers = &headerMap{h: in.r.Header}
		}
		return in.headers, true
	case adminapi.VarRequestRemoteIP:
		return types.String(in.remoteIP(in.r)), true
	case adminapi.VarNow:
		return types.Timestamp{Time: in.now}, true
	}
	return nil, false
}

func (in *conditionInput) Parent() interpreter.Activation { return nil }

// withinEstimate reports whether the request is within the sizes the conditions' static cost
// estimate assumed (adminapi.EstimatedMax*): then the estimate bounds the cost of every
// condition and the cost need not be counted while evaluating.
func (in *conditionInput) withinEstimate() bool {
	if in.sized == 0 {
		in.sized = 2
		if in.boundedClaims && in.r != nil && requestWithinEstimate(in.r) {
			in.sized = 1
		}
	}
	return in.sized == 1
}

func requestWithinEstimate(r *http.Request) bool {
	const maxValue = adminapi.EstimatedMaxRequestValue
	if len(r.URL.Path) > maxValue || len(r.Host) > maxValue || len(r.Header) > adminapi.EstimatedMaxHeaders {
		return false
	}
	for _, vs := range r.Header {
		n := 0
		for _, v := range vs {
			n += len(v) + 2
		}
		if n > maxValue {
			return false
		}
	}
	return true
}

// headerMap is request.headers: the request's headers under lower-case names, a repeated
// header's values joined with ", ". A lookup by name scans the header set (a request has a
// handful) and allocates nothing for a header sent once; anything else (iteration, equality,
// size) works on a copy made on first use.
type headerMap struct {
	h    http.Header
	full traits.Mapper
}

var _ traits.Mapper = (*headerMap)(nil)

func (m *headerMap) find(name string) (string, bool) {
	if strings.ToLower(name) != name { // no allocation when name is lower case already
		return "", false
	}
	for k, vs := range m.h {
		if len(vs) > 0 && strings.EqualFold(k, name) {
			if len(vs) == 1 {
				return vs[0], true
			}
			return strings.Join(vs, ", "), true
		}
	}
	return "", false
}

func (m *headerMap) materialize() traits.Mapper {
	if m.full == nil {
		out := make(map[string]string, len(m.h))
		for k, vs := range m.h {
			if len(vs) == 0 {
				continue
			}
			k = strings.ToLower(k)
			if prev, ok := out[k]; ok {
				out[k] = prev + ", " + strings.Join(vs, ", ")
			} else {
				out[k] = strings.Join(vs, ", ")
			}
		}
		m.full = types.NewStringStringMap(types.DefaultTypeAdapter, out)
	}
	return m.full
}

func (m *headerMap) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return m.materialize().Find(key)
	}
	v, found := m.find(string(k))
	if !found {
		return nil, false
	}
	return types.String(v), true
}

func (m *headerMap) Get(key ref.Val) ref.Val {
	if v, found := m.Find(key); found {
		return v
	}
	return m.materialize().Get(key) // the error CEL gives for a missing key
}

func (m *headerMap) Contains(key ref.Val) ref.Val {
	_, found := m.Find(key)
	return types.Bool(found)
}

func (m *headerMap) Iterator() traits.Iterator { return m.materialize().Iterator() }
func (m *headerMap) Size() ref.Val             { return m.materialize().Size() }
func (m *headerMap) Equal(other ref.Val) ref.Val {
	return m.materialize().Equal(other)
}
func (m *headerMap) ConvertToNative(t reflect.Type) (any, error) {
	return m.materialize().ConvertToNative(t)
}
func (m *headerMap) ConvertToType(t ref.Type) ref.Val { return m.materialize().ConvertToType(t) }
func (m *headerMap) Type() ref.Type                   { return types.MapType }
func (m *headerMap) Value() any                       { return m.materialize().Value() }
