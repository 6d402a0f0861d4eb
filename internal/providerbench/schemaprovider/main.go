// Command schemaprovider is the second baseline of `make bench-provider`: idpgate's provider
// schema and its three resources' schemas (attributes, plan modifiers, validators, defaults,
// as the real provider declares them), with none of idpgate's work: no IdP, no gateway, no
// resource-level plan or config checks; create and update store the plan with its unknown
// values made up, read returns the state, delete forgets. It runs the same log settings
// as the real provider. What a run of its resources costs is what Terraform and the framework
// cost for resources of this shape, the floor of what idpgate's provider can reach. Not
// shipped.
package main

import (
	"context"
	"crypto/rand"
	"log"
	"math/big"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	idpgate "github.com/idpgate/terraform-provider-idpgate/internal/provider"
)

func main() {
	for k, v := range idpgate.LogLevelsFromTerraform(os.Getenv) {
		if err := os.Setenv(k, v); err != nil {
			log.Fatal(err)
		}
	}
	err := providerserver.Serve(context.Background(), func() provider.Provider {
		return schemaOnly{real: idpgate.New("bench", "none")()}
	}, providerserver.ServeOpts{Address: "registry.terraform.io/idpgate/idpgate"})
	if err != nil {
		log.Fatal(err)
	}
}

// schemaOnly has the real provider's name, schema and resources' schemas, and nothing else.
type schemaOnly struct{ real provider.Provider }

func (p schemaOnly) Metadata(ctx context.Context, req provider.MetadataRequest, resp *provider.MetadataResponse) {
	p.real.Metadata(ctx, req, resp)
}

func (p schemaOnly) Schema(ctx context.Context, req provider.SchemaRequest, resp *provider.SchemaResponse) {
	p.real.Schema(ctx, req, resp)
}

func (schemaOnly) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (p schemaOnly) Resources(ctx context.Context) []func() resource.Resource {
	var shells []func() resource.Resource
	for _, newReal := range p.real.Resources(ctx) {
		shells = append(shells, func() resource.Resource { return shell{real: newReal()} })
	}
	return shells
}

func (schemaOnly) DataSources(context.Context) []func() datasource.DataSource { return nil }

// shell is one real resource's type name and schema with do-nothing CRUD.
type shell struct{ real resource.Resource }

func (s shell) Metadata(ctx context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	s.real.Metadata(ctx, req, resp)
}

func (s shell) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	s.real.Schema(ctx, req, resp)
}

func (shell) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.State.Raw = madeUp(ctx, req.Plan.Schema, req.Plan.Raw)
}

func (shell) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (shell) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = madeUp(ctx, req.Plan.Schema, req.Plan.Raw)
}

func (shell) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// madeUp is v with every unknown value replaced by a known one of its type: a random string
// (ids must differ, other resources refer to them) valid for the attribute's custom type,
// zero, false, an empty collection, an object of nulls.
func madeUp(ctx context.Context, s typeLookup, v tftypes.Value) tftypes.Value {
	out, err := tftypes.Transform(v, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		t := v.Type()
		switch {
		case t.Is(tftypes.String):
			return tftypes.NewValue(t, madeUpString(ctx, s, p)), nil
		case t.Is(tftypes.Number):
			return tftypes.NewValue(t, new(big.Float)), nil
		case t.Is(tftypes.Bool):
			return tftypes.NewValue(t, false), nil
		case t.Is(tftypes.List{}), t.Is(tftypes.Set{}):
			return tftypes.NewValue(t, []tftypes.Value{}), nil
		case t.Is(tftypes.Map{}):
			return tftypes.NewValue(t, map[string]tftypes.Value{}), nil
		case t.Is(tftypes.Object{}):
			attrs := map[string]tftypes.Value{}
			for name, at := range t.(tftypes.Object).AttributeTypes {
				attrs[name] = tftypes.NewValue(at, nil)
			}
			return tftypes.NewValue(t, attrs), nil
		}
		return tftypes.NewValue(t, nil), nil
	})
	if err != nil {
		panic(err) // a value the framework built always transforms
	}
	return out
}

// typeLookup is the part of a plan's schema that madeUp needs.
type typeLookup interface {
	TypeAtTerraformPath(context.Context, *tftypes.AttributePath) (attr.Type, error)
}

// madeUpString is a random string, or a value of the attribute's custom type.
func madeUpString(ctx context.Context, s typeLookup, p *tftypes.AttributePath) string {
	typ, err := s.TypeAtTerraformPath(ctx, p)
	if err != nil {
		panic(err)
	}
	switch typ.(type) {
	case jsontypes.NormalizedType:
		return `{"made_up":"` + rand.Text() + `"}`
	case timetypes.RFC3339Type:
		return time.Now().UTC().Format(time.RFC3339)
	case timetypes.GoDurationType:
		return "1s"
	}
	if _, ok := typ.ValueType(ctx).(interface { // the provider's own duration type
		ValueGoDuration() (time.Duration, diag.Diagnostics)
	}); ok {
		return "1s"
	}
	return rand.Text()
}
