package embedded

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the name of the database file inside the store's directory.
const FileName = "cato.db"

// Options configure Open. The zero value is not valid: Dir is required.
type Options struct {
	// Dir is the directory holding the database file; it is created if
	// missing. Other files of the embedded store (index snapshots…) may
	// live beside it.
	Dir string
	// LockTimeout is how long Open waits for another process holding the
	// file to let it go. Zero means 1s.
	LockTimeout time.Duration
}

// ParseURL parses embedded://PATH[?lock_timeout=DURATION]. PATH is a
// directory, relative to the working directory unless it starts with a
// slash (embedded:///var/lib/cato). Unknown parameters are an error.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, err
	}
	if u.Scheme != "embedded" {
		return Options{}, fmt.Errorf("scheme %q is not embedded", u.Scheme)
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return Options{}, errors.New("embedded:// takes a path and parameters only")
	}
	o := Options{Dir: u.Host + u.Path}
	if o.Dir == "" {
		return Options{}, errors.New("embedded:// needs a path, for example embedded://.cato or embedded:///var/lib/cato")
	}
	if strings.ContainsRune(o.Dir, 0) {
		return Options{}, errors.New("path holds a NUL byte")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Options{}, fmt.Errorf("parameters: %w", err)
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return Options{}, fmt.Errorf("parameter %s given %d times", k, len(vs))
		}
		switch k {
		case "lock_timeout":
			d, err := time.ParseDuration(vs[0])
			if err != nil || d < 0 {
				return Options{}, fmt.Errorf("lock_timeout %q: want a duration such as 5s", vs[0])
			}
			o.LockTimeout = d
		default:
			return Options{}, fmt.Errorf("unknown parameter %q (known: lock_timeout)", k)
		}
	}
	return o, nil
}

// DB is an open embedded store, shared by the per-kind stores built on it
// (NewSessionStore…). It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	dir  string

	flagWatchers watchers // change feed of the rollout flag (rollout.go)
	// cacheFeed is the change feed of every CacheStore on this DB, so that
	// two stores built on it see each other's writes.
	cacheFeed cacheFeed
	// memory is the state every MemoryStore on this DB shares: the episode
	// indexes and the queue's wake-ups (memory.go).
	memory memoryShared
	// keyCounters are the request, token and spend counts of client keys
	// (keys.go).
	keyCounters keyCounters
	// group shares write transactions among concurrent session appends
	// (group.go).
	group groupCommit
	// epoch names this opening of the file: queue leases taken under
	// another epoch were taken by a process that is gone.
	epoch [8]byte
}

// Open opens (creating if needed) the store in o.Dir. Only one process may
// have it open: a second waits LockTimeout, then fails.
func Open(o Options) (*DB, error) {
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating embedded store directory: %w", err)
	}
	path := filepath.Join(o.Dir, FileName)
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: another process has it open", path)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &DB{bolt: b, dir: o.Dir, epoch: newEpoch()}, nil
}

// Bolt returns the underlying database, for stores of this package.
func (db *DB) Bolt() *bolt.DB { return db.bolt }

// Dir returns the store's directory.
func (db *DB) Dir() string { return db.dir }

// Ping checks that the database can be read.
func (db *DB) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.View(func(*bolt.Tx) error { return nil })
}

// Close closes the database; stores built on it fail afterwards.
func (db *DB) Close() error {
	db.memory.close()
	return db.bolt.Close()
}

func newEpoch() [8]byte {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return b
}
