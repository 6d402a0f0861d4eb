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

// indexEntry is one row kept beside an API or a policy so that it can be found by name,
// route, resource or grant.
type indexEntry struct {
	table table
	key   string
	value []byte
}

// apiIndex is api's rows: its name, its routes and its resource, each naming its id.
func apiIndex(api *adminapi.API) []indexEntry {
	id := []byte(api.ID)
	entries := []indexEntry{{tableAPINames, api.Name, id}}
	for _, k := range routeKeys(api) {
		entries = append(entries, indexEntry{tableAPIRoutes, k, id})
	}
	if k := resourceIndexKey(api); k != "" {
		entries = append(entries, indexEntry{tableAPIRoutes, k, id})
	}
	return entries
}

// policyIndex is p's rows: its name, naming its id, and one grant per API it grants.
func policyIndex(p *adminapi.Policy) []indexEntry {
	entries := []indexEntry{{tablePolicyNames, p.Name, []byte(p.ID)}}
	for _, apiID := range grantedAPIs(p) {
		entries = append(entries, indexEntry{tableGrants, grantKey(apiID, p.ID), []byte{}})
	}
	return entries
}

// putRecord writes v as JSON under id in t with its index rows, after deleting the rows of
// the record it replaces (none for a new one). Writes and deletions read the same lists, so
// no row can be written that a deletion would leave behind.
func putRecord(tx txn, t table, id string, v any, replaced, index []indexEntry) error {
	if err := deleteRows(tx, replaced); err != nil {
		return err
	}
	if err := putJSON(tx, t, id, v); err != nil {
		return err
	}
	for _, e := range index {
		if err := tx.put(e.table, e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}

// deleteRecord deletes id from t and its index rows.
func deleteRecord(tx txn, t table, id string, index []indexEntry) error {
	if err := deleteRows(tx, index); err != nil {
		return err
	}
	return tx.del(t, id)
}

// indexOf is index(record), or no rows for no record.
func indexOf[T any](record *T, index func(*T) []indexEntry) []indexEntry {
	if record == nil {
		return nil
	}
	return index(record)
}

func deleteRows(tx txn, rows []indexEntry) error {
	for _, e := range rows {
		if err := tx.del(e.table, e.key); err != nil {
			return err
		}
	}
	return nil
}

// putAPI writes api and its index entries, replacing those of old (nil for a new API).
func putAPI(tx txn, old *adminapi.API, api adminapi.API) error {
	return putRecord(tx, tableAPIs, api.ID, api, indexOf(old, apiIndex), apiIndex(&api))
}

func deleteAPI(tx txn, api *adminapi.API) error {
	return deleteRecord(tx, tableAPIs, api.ID, apiIndex(api))
}

// putPolicy writes p and its index entries, replacing those of old (nil for a new policy).
func putPolicy(tx txn, old *adminapi.Policy, p adminapi.Policy) error {
	return putRecord(tx, tablePolicies, p.ID, p, indexOf(old, policyIndex), policyIndex(&p))
}

func deletePolicy(tx txn, p *adminapi.Policy) error {
	return deleteRecord(tx, tablePolicies, p.ID, policyIndex(p))
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

// reindex rewrites into tx, with replaceAll, every API and policy that from holds: how a
// store written before the indexes existed gets them.
func reindex(tx, from txn) error {
	apis, _, err := page[adminapi.API](from, tableAPIs, "", 0)
	if err != nil {
		return err
	}
	pols, _, err := page[adminapi.Policy](from, tablePolicies, "", 0)
	if err != nil {
		return err
	}
	return replaceAll(tx, apis, pols)
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
