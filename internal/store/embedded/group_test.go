package embedded

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var groupBucket = []byte("group_test")

// put returns a transaction function that stores key and records the
// transaction's id in *txid.
func put(key string, txid *int) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(groupBucket)
		if err != nil {
			return err
		}
		*txid = tx.ID()
		return b.Put([]byte(key), []byte("v"))
	}
}

// waitPending waits until n calls wait for the next group.
func waitPending(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		db.group.mu.Lock()
		got := len(db.group.pending)
		db.group.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls pending; want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitBusy waits until a group is being committed.
func waitBusy(t *testing.T, db *DB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		db.group.mu.Lock()
		busy := db.group.busy
		db.group.mu.Unlock()
		if busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no group committing")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit: calls that arrive while a group commits share the next
// transaction; a function that fails fails alone.
func TestGroupCommit(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	release := make(chan struct{})
	var txA, txB, txD int
	errs := make([]error, 4)
	var wg sync.WaitGroup
	wg.Go(func() {
		errs[0] = db.update(func(tx *bolt.Tx) error {
			<-release // hold the group so that the others queue
			return put("a", &txA)(tx)
		})
	})
	waitBusy(t, db)
	errRefused := errors.New("refused")
	wg.Go(func() { errs[1] = db.update(put("b", &txB)) })
	waitPending(t, db, 1)
	wg.Go(func() {
		errs[2] = db.update(func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(groupBucket); err != nil {
				return err
			}
			_ = tx.Bucket(groupBucket).Put([]byte("c"), []byte("v"))
			return errRefused
		})
	})
	waitPending(t, db, 2)
	wg.Go(func() { errs[3] = db.update(put("d", &txD)) })
	waitPending(t, db, 3)
	close(release)
	wg.Wait()

	if errs[0] != nil || errs[1] != nil || errs[3] != nil || !errors.Is(errs[2], errRefused) {
		t.Fatalf("errors %v; want nil, nil, refused, nil", errs)
	}
	if txB != txD || txB == txA {
		t.Errorf("transactions a=%d b=%d d=%d; want b and d in one transaction after a's", txA, txB, txD)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(groupBucket)
		for key, want := range map[string]bool{"a": true, "b": true, "c": false, "d": true} {
			if got := b.Get([]byte(key)) != nil; got != want {
				return fmt.Errorf("key %s stored: %v; want %v", key, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitPanic: a function that panics panics its own caller; the
// others of its group get an error, and the store goes on committing.
func TestGroupCommitPanic(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	release := make(chan struct{})
	var tx1, tx3 int
	var errOther error
	var panicked any
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = db.update(func(tx *bolt.Tx) error { <-release; return put("first", &tx1)(tx) })
	})
	waitBusy(t, db)
	wg.Go(func() {
		defer func() { panicked = recover() }()
		_ = db.update(func(*bolt.Tx) error { panic("boom") })
	})
	waitPending(t, db, 1)
	wg.Go(func() { errOther = db.update(put("other", new(int))) })
	waitPending(t, db, 2)
	close(release)
	wg.Wait()

	if panicked != "boom" {
		t.Errorf("the panicking caller recovered %v; want boom", panicked)
	}
	if !errors.Is(errOther, errGroupPanicked) {
		t.Errorf("the other caller got %v; want errGroupPanicked", errOther)
	}
	if err := db.update(put("after", &tx3)); err != nil {
		t.Fatalf("update after the panic: %v", err)
	}
}
