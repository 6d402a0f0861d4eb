package store

import (
	"slices"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// The indexes beside the objects, kept in the same transaction as every write, so that each
// check is a point lookup instead of a read of every object:
//
//	api_names     API name -> id               (unique API names)
//	api_routes    host "\x00" listen path -> id (unique routes; host "" for an API without hosts),
//	              and "\x01" resource key -> id (unique resources, adminapi.ResourceKey)
//	policy_names  policy name -> id            (unique policy names)
//	grants        API id "\x00" policy id      (which policies grant an API, by prefix scan)
//
// A store written before the indexes existed is indexed once when opened (reindex).

// schemaVersion is stored in meta under "schema" once the indexes are complete.
const schemaVersion = "2"

// routeKeys are the keys an API occupies in api_routes: two APIs compete for requests (see
// adminapi.API.SharesRouteWith) exactly when they share a key.
func routeKeys(api *adminapi.API) []string {
	path := adminapi.NormalizeListenPath(api.ListenPath)
	if len(api.Hosts) == 0 {
		return []string{"\x00" + path}
	}
	keys := make([]string, 0, len(api.Hosts))
	for _, h := range api.Hosts {
		keys = append(keys, adminapi.NormalizeHost(h)+"\x00"+path)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// resourceIndexKey is the api_routes key of an API's resource, "" for none: no route key
// starts with "\x01" (hosts have no control characters).
func resourceIndexKey(api *adminapi.API) string {
	if api.Resource == "" {
		return ""
	}
	return "\x01" + adminapi.ResourceKey(api.Resource)
}

func grantKey(apiID, policyID string) string { return apiID + "\x00" + policyID }

// grantedAPIs are the distinct API ids a policy grants.
func grantedAPIs(p *adminapi.Policy) []string {
	ids := make([]string, 0, len(p.AccessRights))
	for _, ar := range p.AccessRights {
		ids = append(ids, ar.APIID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// putAPI writes api and its index entries, replacing those of old (nil for a new API).
func putAPI(tx txn, old *adminapi.API, api adminapi.API) error {
	if old != nil {
		if err := deleteAPIIndex(tx, old); err != nil {
			return err
		}
	}
	if err := putJSON(tx, tableAPIs, api.ID, api); err != nil {
		return err
	}
	if err := tx.put(tableAPINames, api.Name, []byte(api.ID)); err != nil {
		return err
	}
	for _, k := range routeKeys(&api) {
		if err := tx.put(tableAPIRoutes, k, []byte(api.ID)); err != nil {
			return err
		}
	}
	if k := resourceIndexKey(&api); k != "" {
		return tx.put(tableAPIRoutes, k, []byte(api.ID))
	}
	return nil
}

func deleteAPI(tx txn, api *adminapi.API) error {
	if err := deleteAPIIndex(tx, api); err != nil {
		return err
	}
	return tx.del(tableAPIs, api.ID)
}

func deleteAPIIndex(tx txn, api *adminapi.API) error {
	if err := tx.del(tableAPINames, api.Name); err != nil {
		return err
	}
	for _, k := range routeKeys(api) {
		if err := tx.del(tableAPIRoutes, k); err != nil {
			return err
		}
	}
	if k := resourceIndexKey(api); k != "" {
		return tx.del(tableAPIRoutes, k)
	}
	return nil
}

// putPolicy writes p and its index entries, replacing those of old (nil for a new policy).
func putPolicy(tx txn, old *adminapi.Policy, p adminapi.Policy) error {
	if old != nil {
		if err := deletePolicyIndex(tx, old); err != nil {
			return err
		}
	}
	if err := putJSON(tx, tablePolicies, p.ID, p); err != nil {
		return err
	}
	if err := tx.put(tablePolicyNames, p.Name, []byte(p.ID)); err != nil {
		return err
	}
	for _, apiID := range grantedAPIs(&p) {
		if err := tx.put(tableGrants, grantKey(apiID, p.ID), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

func deletePolicy(tx txn, p *adminapi.Policy) error {
	if err := deletePolicyIndex(tx, p); err != nil {
		return err
	}
	return tx.del(tablePolicies, p.ID)
}

func deletePolicyIndex(tx txn, p *adminapi.Policy) error {
	if err := tx.del(tablePolicyNames, p.Name); err != nil {
		return err
	}
	for _, apiID := range grantedAPIs(p) {
		if err := tx.del(tableGrants, grantKey(apiID, p.ID)); err != nil {
			return err
		}
	}
	return nil
}

// grantingPolicies returns the ids of the policies that grant apiID.
func grantingPolicies(tx txn, apiID string) ([]string, error) {
	prefix := apiID + "\x00"
	var ids []string
	err := tx.scan(tableGrants, prefix, func(key string, _ []byte) (bool, error) {
		pid, ok := strings.CutPrefix(key, prefix)
		if !ok {
			return false, nil
		}
		ids = append(ids, pid)
		return true, nil
	})
	return ids, err
}

// replaceAll empties every configuration table and writes apis and policies with their indexes, without
// checks (the caller checked them or read them from the store).
func replaceAll(tx txn, apis []adminapi.API, policies []adminapi.Policy) error {
	for _, t := range configTables {
		if err := tx.clear(t); err != nil {
			return err
		}
	}
	for _, a := range apis {
		if err := putAPI(tx, nil, a); err != nil {
			return err
		}
	}
	for _, p := range policies {
		if err := putPolicy(tx, nil, p); err != nil {
			return err
		}
	}
	return tx.put(tableMeta, "schema", []byte(schemaVersion))
}

// indexed reports whether the store's indexes are complete.
func indexed(tx txn) (bool, error) {
	v, err := tx.get(tableMeta, "schema")
	return string(v) == schemaVersion, err
}
