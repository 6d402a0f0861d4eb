package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Every resource has a timeouts block that bounds each operation as a whole, retries and
// server-requested waits included (request_timeout bounds one attempt).

// Default operation timeouts: an IdP call may wait out 429s with Retry-After (up to 2m each),
// a gateway call is answered at once or not at all.
const (
	idpOperationTimeout     = 10 * time.Minute
	gatewayOperationTimeout = 5 * time.Minute
)

func timeoutsBlock(ctx context.Context, def time.Duration) schema.Block {
	d := func(op string) string {
		return fmt.Sprintf("How long %s may take, retries included, as a Go duration (e.g. `30s`, `2m`). Default `%s`.",
			op, durationText(def))
	}
	return timeouts.Block(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true,
		CreateDescription: d("creating"), ReadDescription: d("reading (refresh)"),
		UpdateDescription: d("updating"), DeleteDescription: d("deleting")})
}

// timeoutsOrNull is v, or a null timeouts block where v is the zero value (a model built from
// nothing, as after an import).
func timeoutsOrNull(v timeouts.Value) timeouts.Value {
	if len(v.AttributeTypes(context.Background())) > 0 {
		return v
	}
	return timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{
		"create": types.StringType, "read": types.StringType, "update": types.StringType, "delete": types.StringType,
	})}
}

// withOperationTimeout bounds ctx by the configured timeout of one operation (get is one of
// timeouts.Value's Create, Read, Update, Delete).
func withOperationTimeout(ctx context.Context, get func(context.Context, time.Duration) (time.Duration, diag.Diagnostics),
	def time.Duration) (context.Context, context.CancelFunc, diag.Diagnostics) {
	d, diags := get(ctx, def)
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, diags
}
