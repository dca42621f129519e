package embedded

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
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
	deadline := time.Now().Add(15 * time.Second)
	for {
		db.group.mu.Lock()
		got := len(db.group.pending)
		db.group.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls pending after 15s; want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// hold starts a call to db.update whose function waits for release, and
// returns once that call's group is taken: it commits alone, and the calls
// made meanwhile queue behind it.
func hold(t *testing.T, db *DB, wg *sync.WaitGroup, txid *int) (release func()) {
	t.Helper()
	started, ch := make(chan struct{}), make(chan struct{})
	release = sync.OnceFunc(func() { close(ch) })
	t.Cleanup(release) // before the test's deferred Close, so that nothing hangs
	wg.Go(func() {
		err := db.update(func(tx *bolt.Tx) error {
			close(started)
			<-ch
			return put("held", txid)(tx)
		})
		if err != nil {
			t.Errorf("held update: %v", err)
		}
	})
	<-started
	return release
}

// TestGroupCommit: calls that arrive while a group commits share the next
// transaction; a function that fails fails alone.
func TestGroupCommit(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	var wg sync.WaitGroup
	var txA, txB, txD int
	release := hold(t, db, &wg, &txA)
	errs := make([]error, 3)
	errRefused := errors.New("refused")
	wg.Go(func() { errs[0] = db.update(put("b", &txB)) })
	waitPending(t, db, 1)
	wg.Go(func() {
		errs[1] = db.update(func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(groupBucket); err != nil {
				return err
			}
			_ = tx.Bucket(groupBucket).Put([]byte("c"), []byte("v"))
			return errRefused
		})
	})
	waitPending(t, db, 2)
	wg.Go(func() { errs[2] = db.update(put("d", &txD)) })
	waitPending(t, db, 3)
	release()
	wg.Wait()

	if errs[0] != nil || !errors.Is(errs[1], errRefused) || errs[2] != nil {
		t.Fatalf("errors %v; want nil, refused, nil", errs)
	}
	if txB != txD || txB == txA {
		t.Errorf("transactions held=%d b=%d d=%d; want b and d in one transaction after the held one", txA, txB, txD)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(groupBucket)
		for key, want := range map[string]bool{"held": true, "b": true, "c": false, "d": true} {
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

// TestGroupCommitPanic: a function that panics panics its own caller,
// whether it leads its group or not, and its write alone is lost.
func TestGroupCommitPanic(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	for _, lead := range []bool{true, false} {
		t.Run(fmt.Sprintf("panicker leads %v", lead), func(t *testing.T) {
			var wg sync.WaitGroup
			release := hold(t, db, &wg, new(int))
			var errOther error
			var panicked any
			other := func() { errOther = db.update(put("other", new(int))) }
			panicker := func() {
				defer func() { panicked = recover() }()
				_ = db.update(func(*bolt.Tx) error { panic("boom") })
			}
			first, second := other, panicker
			if lead {
				first, second = panicker, other
			}
			wg.Go(first)
			waitPending(t, db, 1)
			wg.Go(second)
			waitPending(t, db, 2)
			release()
			wg.Wait()
			if panicked != "boom" {
				t.Errorf("the panicking caller recovered %v; want boom", panicked)
			}
			if errOther != nil {
				t.Errorf("the other caller got %v; want nil", errOther)
			}
			if err := db.update(put("after", new(int))); err != nil {
				t.Fatalf("update after the panic: %v", err)
			}
		})
	}
}

// TestGroupCommitStress: many callers at once, some failing, some
// panicking: each gets its own outcome, and what succeeded is stored.
func TestGroupCommitStress(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const n = 1000
	type outcome struct {
		err      error
		panicked any
	}
	got := make([]outcome, n)
	kind := func(i int) int { return i % 10 } // 0: fails, 1: panics, else succeeds
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { got[i].panicked = recover() }()
			got[i].err = db.update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists(groupBucket)
				if err != nil {
					return err
				}
				if err := b.Put([]byte(strconv.Itoa(i)), nil); err != nil {
					return err
				}
				switch kind(i) {
				case 0:
					return fmt.Errorf("refused %d", i)
				case 1:
					panic(i)
				}
				return nil
			})
		})
	}
	wg.Wait()
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(groupBucket)
		for i := range n {
			stored := b.Get([]byte(strconv.Itoa(i))) != nil
			o := got[i]
			switch kind(i) {
			case 0:
				if o.err == nil || o.err.Error() != fmt.Sprintf("refused %d", i) || stored {
					t.Errorf("call %d: err %v, stored %v; want its own refusal, not stored", i, o.err, stored)
				}
			case 1:
				if o.panicked != i || stored {
					t.Errorf("call %d: panicked %v, stored %v; want its own panic, not stored", i, o.panicked, stored)
				}
			default:
				if o.err != nil || o.panicked != nil || !stored {
					t.Errorf("call %d: err %v, panicked %v, stored %v; want stored", i, o.err, o.panicked, stored)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitAfterInCommitOrder: each successful write's after runs
// once, in commit order, and never for a failed write.
func TestGroupCommitAfterInCommitOrder(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var (
		mu   sync.Mutex
		seen []uint64 // the counter each after saw, in the order they ran
	)
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	for w := range 32 {
		wg.Go(func() {
			for i := range 20 {
				var value uint64
				err := db.updateThen(func(tx *bolt.Tx) error {
					b, err := tx.CreateBucketIfNotExists(groupBucket)
					if err != nil {
						return err
					}
					var n uint64
					if v := b.Get([]byte("counter")); v != nil {
						n, _ = strconv.ParseUint(string(v), 10, 64)
					}
					value = n + 1
					if (w*20+i)%7 == 0 {
						return errors.New("refused")
					}
					return b.Put([]byte("counter"), []byte(strconv.FormatUint(value, 10)))
				}, func() {
					mu.Lock()
					seen = append(seen, value)
					mu.Unlock()
				})
				if err != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if int64(len(seen)) != ok.Load() {
		t.Fatalf("after ran %d times for %d successful writes (%d failed)", len(seen), ok.Load(), failed.Load())
	}
	for i, v := range seen {
		if v != uint64(i+1) {
			t.Fatalf("after #%d saw counter %d; want %d: not in commit order", i, v, i+1)
		}
	}
}
