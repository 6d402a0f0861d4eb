package adminapi

import (
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/ext"
)

// Conditions are CEL expressions (https://cel.dev, the language of Kubernetes admission
// policies and Google IAM conditions) on a protected API (every caller must meet them) and on
// an access right (the grant applies only when they hold). Every expression of a list must be
// true. They are compiled and type-checked here, by ConditionEnv, once per configuration
// change: by the admin API before it stores them, by the gateway when it builds its snapshot,
// and by the Terraform provider at plan time, so the three cannot disagree.
//
// The variables:
//
//	claims             map(string, dyn)     the token's claims (or the introspection answer)
//	client_id          string               the client id the policies bind to ("" if none)
//	subject            string               the value of the API's identity claim
//	scopes             list(string)         the token's scopes
//	request.method     string               e.g. "GET"
//	request.path       string               the full request path, e.g. "/orders/42"
//	request.host       string               lower case, without port
//	request.headers    map(string, string)  lower-case names; a repeated header's values joined with ", "
//	request.remote_ip  string               the client's address (from X-Forwarded-For only when the peer is a trusted proxy)
//	now                timestamp            the time of the request
//
// Besides CEL's standard functions: the strings extension (lowerAscii, split, ...) and the
// network extension of Kubernetes (cidr('10.0.0.0/8').containsIP(request.remote_ip), ip(...),
// isIP, isCIDR). A claim that is absent makes claims.x an error, which fails the condition:
// write has(claims.x) && ... to say what an absent claim means.
const (
	// MaxConditions bounds each list of conditions.
	MaxConditions = 16
	// MaxConditionLength bounds one expression, in bytes.
	MaxConditionLength = 2048
	// MaxConditionCost bounds an expression's cost, in CEL's cost units (about one per
	// operation, more for string and list work): its static estimate at validation, over the
	// largest inputs a request can carry, and its actual cost at evaluation, which stops it.
	MaxConditionCost = 100_000
)

// Sizes the cost estimate assumes for the inputs: a token is at most 8 KiB, so is any claim
// or list in it; a request's path, host and each header value are taken to be at most 8 KiB
// (nginx's default large_client_header_buffers), and a request to carry at most 256 headers.
// For inputs within these sizes the estimate bounds the actual cost, and the gateway
// evaluates CompiledCondition.Program without counting; for larger ones (a long header,
// an introspection answer of more than 8 KiB) it evaluates Bounded, which stops at
// MaxConditionCost, and the condition fails.
const (
	EstimatedMaxClaimsBytes  = 8 << 10
	EstimatedMaxRequestValue = 8 << 10
	EstimatedMaxHeaders      = 256
)

// The names of the condition variables.
const (
	VarClaims          = "claims"
	VarClientID        = "client_id"
	VarSubject         = "subject"
	VarScopes          = "scopes"
	VarRequestMethod   = "request.method"
	VarRequestPath     = "request.path"
	VarRequestHost     = "request.host"
	VarRequestHeaders  = "request.headers"
	VarRequestRemoteIP = "request.remote_ip"
	VarNow             = "now"
)

var conditionEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable(VarClaims, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(VarClientID, cel.StringType),
		cel.Variable(VarSubject, cel.StringType),
		cel.Variable(VarScopes, cel.ListType(cel.StringType)),
		cel.Variable(VarRequestMethod, cel.StringType),
		cel.Variable(VarRequestPath, cel.StringType),
		cel.Variable(VarRequestHost, cel.StringType),
		cel.Variable(VarRequestHeaders, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(VarRequestRemoteIP, cel.StringType),
		cel.Variable(VarNow, cel.TimestampType),
		ext.Strings(),
		ext.Network(),
	)
})

// ConditionEnv is the one CEL environment of conditions.
func ConditionEnv() (*cel.Env, error) { return conditionEnv() }

// CompiledCondition is a condition ready to evaluate.
type CompiledCondition struct {
	Source string
	// Program evaluates without counting its cost: only for inputs within the estimate's sizes.
	Program cel.Program
	// Bounded evaluates with a runtime cost limit of MaxConditionCost.
	Bounded cel.Program
	// Cost is the static estimate's upper bound.
	Cost uint64
}

// CompileCondition parses, type-checks and bounds one condition; field names it in the
// error ("conditions[0]", "access_rights[1].conditions[0]"). The program stops at
// MaxConditionCost.
func CompileCondition(field, expr string) (*CompiledCondition, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, FieldError(field, "the condition is empty")
	}
	if len(expr) > MaxConditionLength {
		return nil, FieldError(field, "the condition is %d bytes long; at most %d", len(expr), MaxConditionLength)
	}
	env, err := ConditionEnv()
	if err != nil {
		return nil, fmt.Errorf("condition environment: %w", err)
	}
	checked, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, FieldError(field, "%s", issuesText(iss))
	}
	if !checked.OutputType().IsExactType(cel.BoolType) {
		return nil, FieldError(field, "the condition is of type %s; it must be a bool (true lets the request through)",
			cel.FormatCELType(checked.OutputType()))
	}
	est, err := env.EstimateCost(checked, sizeEstimator{})
	if err != nil {
		return nil, FieldError(field, "the cost of the condition cannot be estimated: %v", err)
	}
	if est.Max > MaxConditionCost {
		return nil, FieldError(field, "the condition may cost up to %s, more than the bound of %d: "+
			"iterate over fewer or smaller values (a comprehension over request.headers or a long claim "+
			"multiplies its body's cost by their size)", costText(est.Max), MaxConditionCost)
	}
	bounded, err := env.Program(checked, cel.CostLimit(MaxConditionCost), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, FieldError(field, "%v", err)
	}
	prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, FieldError(field, "%v", err)
	}
	return &CompiledCondition{Source: expr, Program: prg, Bounded: bounded, Cost: est.Max}, nil
}

// CompileConditions compiles a list of conditions; field is the list's name.
func CompileConditions(field string, exprs []string) ([]*CompiledCondition, error) {
	if len(exprs) > MaxConditions {
		return nil, FieldError(field, "at most %d conditions; got %d", MaxConditions, len(exprs))
	}
	var out []*CompiledCondition
	for i, e := range exprs {
		c, err := CompileCondition(fmt.Sprintf("%s[%d]", field, i), e)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// issuesText renders CEL's errors as "line 1, column 9: undeclared reference to 'clams'",
// one per error, with columns counted from 1.
func issuesText(iss *cel.Issues) string {
	var parts []string
	for _, e := range iss.Errors() {
		msg := strings.TrimSpace(e.Message)
		if e.Location != nil && e.Location.Line() > 0 {
			msg = fmt.Sprintf("line %d, column %d: %s", e.Location.Line(), e.Location.Column()+1, msg)
		}
		parts = append(parts, msg)
	}
	if len(parts) == 0 {
		return strings.TrimSpace(iss.String())
	}
	return strings.Join(parts, "; ")
}

func costText(c uint64) string {
	if c == ^uint64(0) {
		return "an unbounded amount"
	}
	return fmt.Sprintf("%d", c)
}

// sizeEstimator tells CEL's cost estimate how large the inputs can be (see EstimatedMaxClaimsBytes).
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		return nil
	}
	var s cost.SizeEstimate
	switch p[0] {
	case VarClaims, VarScopes:
		s = cost.RangedSizeEstimate(0, EstimatedMaxClaimsBytes)
	case VarRequestHeaders:
		if len(p) == 1 {
			s = cost.RangedSizeEstimate(0, EstimatedMaxHeaders)
		} else {
			s = cost.RangedSizeEstimate(0, EstimatedMaxRequestValue)
		}
	case VarRequestPath, VarRequestHost, VarRequestMethod:
		s = cost.RangedSizeEstimate(0, EstimatedMaxRequestValue)
	case VarClientID, VarSubject:
		s = cost.RangedSizeEstimate(0, EstimatedMaxClaimsBytes)
	case VarRequestRemoteIP:
		s = cost.RangedSizeEstimate(0, 64)
	default:
		return nil
	}
	return &s
}

func (sizeEstimator) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}
