package cachecodec

import (
	"encoding/json"
	"fmt"

	"github.com/cato-gateway/cato/internal/cache"
)

// change is a cache.Change as JSON; Op is the number of cache.Op.
type change struct {
	Op     cache.Op `json:"op"`
	Entry  *record  `json:"entry,omitempty"`
	IDs    []string `json:"ids,omitempty"`
	Tenant string   `json:"tenant,omitempty"`
	Model  string   `json:"model,omitempty"`
}

// MarshalChange encodes c. The Entry of an OpPut goes whole, vector
// included, so that a replica needs no read to apply it.
func MarshalChange(c cache.Change) ([]byte, error) {
	w := change{Op: c.Op}
	switch c.Op {
	case cache.OpPut:
		r := toRecord(c.Entry)
		w.Entry = &r
	case cache.OpDelete:
		w.IDs = c.IDs
	case cache.OpPurge:
		w.Tenant, w.Model = c.Filter.Tenant, c.Filter.Model
	default:
		return nil, fmt.Errorf("encoding cache change: unknown op %d", c.Op)
	}
	return json.Marshal(w)
}

// UnmarshalChange decodes what MarshalChange returns, and also a delete
// written by a Lua script ({"op":2,"ids":[…]}).
func UnmarshalChange(b []byte) (cache.Change, error) {
	var w change
	if err := json.Unmarshal(b, &w); err != nil {
		return cache.Change{}, fmt.Errorf("decoding cache change: %w", err)
	}
	c := cache.Change{Op: w.Op}
	switch w.Op {
	case cache.OpPut:
		if w.Entry == nil {
			return cache.Change{}, fmt.Errorf("decoding cache change: put without an entry")
		}
		e, err := w.Entry.entry()
		if err != nil {
			return cache.Change{}, err
		}
		c.Entry = e
	case cache.OpDelete:
		c.IDs = w.IDs
	case cache.OpPurge:
		c.Filter = cache.Filter{Tenant: w.Tenant, Model: w.Model}
		if c.Filter == (cache.Filter{}) {
			return cache.Change{}, fmt.Errorf("decoding cache change: purge without a filter")
		}
	default:
		return cache.Change{}, fmt.Errorf("decoding cache change: unknown op %d", w.Op)
	}
	return c, nil
}
