package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// wireBody keeps every conversion's diagnostics: a list or set that is not of strings is an
// error, not a silently empty field.
func TestWireBodyCollectsDiagnostics(t *testing.T) {
	numbers := []attr.Value{types.Int64Value(1)}
	b := wireBody{ctx: context.Background()}
	b.list(types.ListValueMust(types.Int64Type, numbers))
	if b.diags.ErrorsCount() != 1 {
		t.Fatalf("list: %v", b.diags)
	}
	b.strings(types.SetValueMust(types.Int64Type, numbers))
	if b.diags.ErrorsCount() != 2 {
		t.Fatalf("strings: %v", b.diags)
	}
	if got := b.optionalDuration(durationNull()); got != nil {
		t.Errorf("a null duration is sent as %v, want none (the gateway's default)", *got)
	}
	if got := b.optionalDuration(durationOf("0s")); got == nil || *got != 0 {
		t.Errorf("0s is sent as %v, want 0 (none)", got)
	}
}
