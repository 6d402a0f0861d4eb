package admin

import (
	"net/http"
	"strconv"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
)

// objects is one kind of stored object, APIs or policies, as the admin API serves it: list
// (paged), get, create, replace (PUT) and delete, the same way for both. A write goes
// through config.Live.Commit, so it is answered once the snapshot serves it.
type objects[T any] struct {
	h *handler

	list    func(after string, limit int) ([]T, string, error)
	get     func(id string) (*T, error)
	create  func(in T) (*T, int64, error)
	replace func(id string, in T) (*T, int64, error)
	delete  func(id string) (int64, error)

	// page is the answer of a list.
	page func(items []T, next string) any
	// check refuses a body: adminapi's Validate, and what else the gateway refuses.
	check func(*T) error
	// changed is the change a write that stored out at version makes, deleted a delete's.
	changed func(version int64, out *T) config.Change
	deleted func(version int64, id string) config.Change
	// redact readies an object for an answer; nil leaves it as stored.
	redact func(*T)
}

func (h *handler) apis() *objects[adminapi.API] {
	return &objects[adminapi.API]{h: h,
		list: h.store.ListAPIs, get: h.store.GetAPI, create: h.store.CreateAPI, replace: h.store.ReplaceAPI, delete: h.store.DeleteAPI,
		page: func(apis []adminapi.API, next string) any { return adminapi.APIList{APIs: apis, NextAfter: next} },
		check: func(api *adminapi.API) error {
			if err := api.Validate(); err != nil {
				return err
			}
			return h.checkAPI(api)
		},
		// The change holds a copy: the answer is redacted.
		changed: func(v int64, api *adminapi.API) config.Change {
			c := *api
			return config.Change{Version: v, APIID: api.ID, API: &c}
		},
		deleted: func(v int64, id string) config.Change { return config.Change{Version: v, APIID: id} },
		redact:  redact,
	}
}

func (h *handler) policies() *objects[adminapi.Policy] {
	return &objects[adminapi.Policy]{h: h,
		list: h.store.ListPolicies, get: h.store.GetPolicy, create: h.store.CreatePolicy, replace: h.store.ReplacePolicy, delete: h.store.DeletePolicy,
		page:  func(ps []adminapi.Policy, next string) any { return adminapi.PolicyList{Policies: ps, NextAfter: next} },
		check: (*adminapi.Policy).Validate,
		changed: func(v int64, p *adminapi.Policy) config.Change {
			return config.Change{Version: v, PolicyID: p.ID, Policy: p}
		},
		deleted: func(v int64, id string) config.Change { return config.Change{Version: v, PolicyID: id} },
	}
}

// mount serves the collection at path and each object at path/{id}.
func (o *objects[T]) mount(mux *http.ServeMux, path string) {
	mux.HandleFunc("GET "+path, o.serveList)
	mux.HandleFunc("POST "+path, o.serveCreate)
	mux.HandleFunc("GET "+path+"/{id}", o.serveGet)
	mux.HandleFunc("PUT "+path+"/{id}", o.serveReplace)
	mux.HandleFunc("DELETE "+path+"/{id}", o.serveDelete)
	allowOnly(mux, path, "GET, HEAD, POST")
	allowOnly(mux, path+"/{id}", "GET, HEAD, PUT, DELETE")
}

func (o *objects[T]) serveList(w http.ResponseWriter, r *http.Request) {
	after, limit, ok := pageParams(w, r)
	if !ok {
		return
	}
	items, next, err := o.list(after, limit)
	if err != nil {
		o.h.internalError(w, err)
		return
	}
	if o.redact != nil {
		for i := range items {
			o.redact(&items[i])
		}
	}
	writeJSON(w, http.StatusOK, o.page(items, next))
}

// pageParams reads ?limit= (default adminapi.DefaultPageSize, at most adminapi.MaxPageSize)
// and ?after= (the id the page starts after), or answers a 400 naming the bad one.
func pageParams(w http.ResponseWriter, r *http.Request) (after string, limit int, ok bool) {
	q := r.URL.Query()
	limit = adminapi.DefaultPageSize
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > adminapi.MaxPageSize {
			writeError(w, adminapi.FieldError("limit", "limit %q must be a whole number from 1 to %d", raw, adminapi.MaxPageSize))
			return "", 0, false
		}
		limit = n
	}
	return q.Get("after"), limit, true
}

func (o *objects[T]) serveGet(w http.ResponseWriter, r *http.Request) {
	out, err := o.get(r.PathValue("id"))
	o.answer(w, http.StatusOK, out, err, nil)
}

func (o *objects[T]) serveCreate(w http.ResponseWriter, r *http.Request) {
	o.write(w, r, http.StatusCreated, o.create)
}

func (o *objects[T]) serveReplace(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o.write(w, r, http.StatusOK, func(in T) (*T, int64, error) { return o.replace(id, in) })
}

// write stores a checked body and answers with what was stored.
func (o *objects[T]) write(w http.ResponseWriter, r *http.Request, status int, store func(T) (*T, int64, error)) {
	var in T
	if !decodeBody(w, r, &in) || !valid(w, o.check(&in)) {
		return
	}
	var out *T
	err, applyErr := o.h.config.Commit(func() (config.Change, error) {
		var v int64
		var err error
		if out, v, err = store(in); out == nil {
			return config.Change{}, err
		}
		return o.changed(v, out), err
	})
	o.answer(w, status, out, err, applyErr)
}

func (o *objects[T]) serveDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err, applyErr := o.h.config.Commit(func() (config.Change, error) {
		v, err := o.delete(id)
		return o.deleted(v, id), err
	})
	if o.h.done(w, err, applyErr) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// answer answers a read or a write: err is the store's, applyErr (writes) the snapshot's.
func (o *objects[T]) answer(w http.ResponseWriter, status int, out *T, err, applyErr error) {
	if !o.h.done(w, err, applyErr) {
		return
	}
	if o.redact != nil {
		o.redact(out)
	}
	writeJSON(w, status, out)
}

// redact replaces the introspection client secret with client_secret_set: it is write-only.
// The Introspection struct is copied, not changed: the snapshot may share it.
func redact(api *adminapi.API) {
	if api.Introspection != nil {
		in := *api.Introspection
		in.ClientSecretSet = in.ClientSecret != ""
		in.ClientSecret = ""
		api.Introspection = &in
	}
}
