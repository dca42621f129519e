package embedded

import (
	"errors"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// errGroupPanicked fails the write of a function that panicked (its
// caller then panics with the same value) and, should a function end its
// goroutine without returning, the writes of its whole group.
var errGroupPanicked = errors.New("embedded store: the write was rolled back: a write in its transaction did not finish")

// maxGroup bounds the callers whose changes share one transaction.
const maxGroup = 256

// groupCommit lets concurrent writers share bbolt transactions: bbolt has
// one writer at a time and each commit waits for fsync, so writers that
// take turns pay one fsync each, and at a few hundred session turns per
// second the turns queue behind each other's fsyncs. Here, while one group
// commits, the writers that arrive wait together, and the first of them
// then commits all of their changes in one transaction and one fsync. A
// writer alone commits at once: there is no batching delay (bbolt's own
// Batch waits MaxBatchDelay for company).
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupCall // waiting for the next group, oldest first
	busy    bool         // a group is being committed
}

type groupCall struct {
	fn func(*bolt.Tx) error
	// after, when set, runs once fn's changes are durable, in commit
	// order: before the next group starts.
	after func()
	err   error
	// panicked is what fn panicked with, re-panicked in its own caller.
	panicked any
	// wake receives false when the call's group has committed (err is
	// set), true when the call is to commit the next group itself.
	wake chan bool
}

// update runs fn in a write transaction, possibly shared with other
// callers' functions, and returns once that transaction is durable. When
// another function of the group fails, the group is run again without it
// and the failing one alone, so fn may run more than once: it must change
// nothing outside tx, or only what it sets again each time. A panic in fn
// fails fn's write alone and is raised again in update's caller.
func (db *DB) update(fn func(*bolt.Tx) error) error {
	return db.updateThen(fn, nil)
}

// updateThen is update, and runs after (when not nil) once fn's changes
// are durable and before any later group commits, so that what after
// publishes is seen in commit order.
func (db *DB) updateThen(fn func(*bolt.Tx) error, after func()) error {
	g := &db.group
	c := &groupCall{fn: fn, after: after, wake: make(chan bool, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !lead && !<-c.wake {
		if c.panicked != nil {
			panic(c.panicked)
		}
		return c.err
	}
	// c leads: it commits the waiting calls (itself among them), then
	// hands the lead to the oldest call that arrived meanwhile.
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	group := g.pending[:n:n]
	// The calls left get an array of their own, so that the committed
	// ones (and the turns their functions hold) do not stay reachable.
	if rest := g.pending[n:]; len(rest) > 0 {
		g.pending = slices.Clone(rest)
	} else {
		g.pending = nil
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		if len(g.pending) > 0 {
			g.pending[0].wake <- true
		} else {
			g.busy = false
		}
		g.mu.Unlock()
	}()
	db.commitGroup(group, c)
	if c.panicked != nil {
		panic(c.panicked) // the deferred hand-off still runs
	}
	return c.err
}

// run runs c.fn in tx; a panic becomes errGroupPanicked, its value kept
// for c's caller.
func (c *groupCall) run(tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.panicked, err = r, errGroupPanicked
		}
	}()
	return c.fn(tx)
}

// runAfter runs c.after, if any, once c's write is durable; a panic in it
// is kept for c's caller, like one in c.fn, so that every call of the
// group is still woken.
func (c *groupCall) runAfter() {
	if c.after == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.panicked = r
		}
	}()
	c.after()
}

// commitGroup commits the functions of group in one transaction and sets
// each call's err; it wakes every call but self. A function that fails is
// retried alone, the others together without it, so that one caller's
// error is never another's.
func (db *DB) commitGroup(group []*groupCall, self *groupCall) {
	woken := false
	defer func() {
		// run turns a function's panic into its own failure; this is for
		// what recover cannot stop (runtime.Goexit) and bbolt's own
		// panics: the others of the group learn that nothing was written.
		if !woken {
			for _, c := range group {
				if c != self {
					c.err = errGroupPanicked
					c.wake <- false
				}
			}
		}
	}()
	failed := -1
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for i, c := range group {
			if err := c.run(tx); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 && failed >= 0 {
		alone := group[failed]
		if alone.panicked != nil {
			alone.err = errGroupPanicked
		} else if alone.err = db.bolt.Update(alone.run); alone.err == nil {
			alone.runAfter()
		}
		if alone != self {
			alone.wake <- false
		}
		rest := append(group[:failed:failed], group[failed+1:]...)
		woken = true
		db.commitGroup(rest, self)
		return
	}
	woken = true
	for _, c := range group {
		if c.err = err; err == nil {
			c.runAfter()
		}
		if c != self {
			c.wake <- false
		}
	}
}
