//go:build pin

// Package internal pins the modules that the packages under construction will import, so
// that `go mod tidy` keeps them while work is in progress. Remove once all are imported.
package internal

import (
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/hashicorp/go-retryablehttp"
	_ "github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/sync/singleflight"
	_ "golang.org/x/time/rate"
)
