package store

import (
	"errors"
	"fmt"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// Export returns every API and policy as stored, introspection client secrets included:
// the result is as sensitive as the store.
func (s *Store) Export() (Config, error) { return s.Load() }

// ErrNotEmpty is Import's refusal to overwrite a store that holds objects.
var ErrNotEmpty = errors.New("the store already holds APIs or policies")

// validateEach checks that every item of list has an id and passes check, which returns the
// item's id and its validation's error (Validate may complete the item: defaults are set in
// place).
func validateEach[T any](list string, items []T, check func(*T) (string, error)) error {
	for i := range items {
		id, err := check(&items[i])
		if id == "" {
			return fmt.Errorf("%s[%d]: id is empty", list, i)
		}
		if err != nil {
			return fmt.Errorf("%s[%d] (%s): %w", list, i, id, err)
		}
	}
	return nil
}

// Import writes c into the store in one transaction, keeping ids and timestamps, so that
// Terraform state written against the exported store still matches. A non-empty store is
// refused with ErrNotEmpty unless replace is set; then everything in it is removed first.
// Every object is validated and checked as an admin API write would be.
func (s *Store) Import(c Config, replace bool) error {
	if err := validateEach("apis", c.APIs, func(a *adminapi.API) (string, error) { return a.ID, a.Validate() }); err != nil {
		return err
	}
	if err := validateEach("policies", c.Policies, func(p *adminapi.Policy) (string, error) { return p.ID, p.Validate() }); err != nil {
		return err
	}
	_, err := s.update(func(tx txn) error {
		if !replace {
			apis, err := count(tx, tableAPIs)
			if err != nil {
				return err
			}
			pols, err := count(tx, tablePolicies)
			if err != nil {
				return err
			}
			if apis+pols > 0 {
				return fmt.Errorf("%w (%d APIs, %d policies)", ErrNotEmpty, apis, pols)
			}
		}
		if err := replaceAll(tx, nil, nil); err != nil {
			return err
		}
		for i, api := range c.APIs {
			if err := checkAPIUnique(tx, api); err != nil {
				return fmt.Errorf("apis[%d] (%s): %w", i, api.ID, err)
			}
			if err := putAPI(tx, nil, api); err != nil {
				return err
			}
		}
		for i, p := range c.Policies {
			if err := checkPolicyRefs(tx, p); err != nil {
				return fmt.Errorf("policies[%d] (%s): %w", i, p.ID, err)
			}
			if err := putPolicy(tx, nil, p); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

func count(tx txn, t table) (int, error) {
	n := 0
	err := tx.scan(t, "", func(string, []byte) (bool, error) { n++; return true, nil })
	return n, err
}
