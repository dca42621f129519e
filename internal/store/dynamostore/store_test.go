package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/session"
)

// rawGet reads an item as the table holds it.
func rawGet(t *testing.T, db *DB, k map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: db.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// TestSessionTTL: a session carries the table's ttl attribute, and the
// application enforces it by itself: dynalite has no time to live, so a
// Load past the expiry reads nothing and deletes the item.
func TestSessionTTL(t *testing.T) {
	db := openDB(t)
	if db.nativeTTL {
		t.Fatal("dynalite reported a time to live it does not have")
	}
	now := time.Now()
	s := NewSessionStore(db, session.StoreOptions{TTL: time.Minute, Now: func() time.Time { return now }})
	k := session.Key{Tenant: "acme", ID: "s1"}
	if err := s.Append(context.Background(), k, session.Turn{Role: llm.RoleUser, Content: "hi", At: now}); err != nil {
		t.Fatal(err)
	}
	it := rawGet(t, db, sessionKey(k))
	if got, want := getN(it, attrTTL), (now.Add(time.Minute).UnixMilli()+999)/1000; got != want {
		t.Errorf("ttl = %d; want %d (expiry in Unix seconds)", got, want)
	}
	now = now.Add(time.Minute)
	if _, err := s.Load(context.Background(), k); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load after the TTL = %v; want ErrNotFound", err)
	}
	if it := rawGet(t, db, sessionKey(k)); len(it) != 0 {
		t.Errorf("the expired session is still in the table: %v", it)
	}
}

// TestCacheListDeletesExpired: List skips an expired entry and, without a
// server-side time to live, deletes it.
func TestCacheListDeletesExpired(t *testing.T) {
	db := openDB(t)
	s := NewCacheStore(db, nil)
	old := cachetest.NewEntry("old", "t", "m", "")
	old.ExpiresAt = time.Now().Add(-time.Minute)
	live := cachetest.NewEntry("live", "t", "m", "")
	for _, e := range []cache.Entry{old, live} {
		if err := s.Put(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if getN(rawGet(t, db, entryKey("live")), attrTTL) == 0 {
		t.Error("a live entry has no ttl attribute")
	}
	var got []string
	if err := s.List(context.Background(), func(e cache.Entry) error { got = append(got, e.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "live" {
		t.Errorf("List = %v; want [live]", got)
	}
	if it := rawGet(t, db, entryKey("old")); len(it) != 0 {
		t.Error("List left the expired entry in the table")
	}
}

// TestCacheFeedGap: a change number taken and never written (its writer
// died) closes the feed after the gap wait, so that the cache lists again
// rather than miss the change.
func TestCacheFeedGap(t *testing.T) {
	db := openDB(t)
	s := NewCacheStore(db, nil)
	s.gapWait = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: db.table, Key: feedSeqKey, UpdateExpression: aws.String("ADD seq :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, cachetest.NewEntry("after-gap", "t", "m", "")); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case c, ok := <-feed:
			if !ok {
				return
			}
			t.Errorf("change %+v delivered past a missing one", c)
		case <-deadline:
			t.Fatal("the feed stayed open 15s after a missing change")
		}
	}
}

// TestMemoryPendingWriteOut: a writer that dies after committing a change
// and before writing out its episode leaves the change in the user item.
// The interaction counts as consolidated, and the user's next change
// writes the episode out.
func TestMemoryPendingWriteOut(t *testing.T) {
	db := openDB(t)
	s := NewMemoryStore(db, memory.QueueOptions{})
	ctx := context.Background()
	k := memory.Key{Tenant: "acme", User: "alice"}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	in := &memory.Interaction{ID: "i1", Tenant: k.Tenant, User: k.User, Query: "q", Response: "r", At: at}
	ep := &memory.Episode{ID: "i1", Tenant: k.Tenant, User: k.User, Query: "q", Response: "r", At: at, Vector: []float32{1, 0}}
	// What Apply commits, without the writing out.
	u := userState{ver: 1, facts: map[string]string{}, pend: &pending{WV: 1, Episode: ep, Vector: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0}}}
	if err := s.putUser(ctx, k, &u, 0); err != nil {
		t.Fatal(err)
	}
	err := s.Apply(ctx, memory.Change{Key: k, Version: 1, Interaction: in, Episode: ep})
	if !errors.Is(err, memory.ErrDuplicate) {
		t.Errorf("Apply of the committed interaction = %v; want ErrDuplicate", err)
	}
	in2 := &memory.Interaction{ID: "i2", Tenant: k.Tenant, User: k.User, Query: "q2", At: at.Add(time.Second)}
	ep2 := &memory.Episode{ID: "i2", Tenant: k.Tenant, User: k.User, Query: "q2", At: in2.At, Vector: []float32{0, 1}}
	if err := s.Apply(ctx, memory.Change{Key: k, Version: 1, Interaction: in2, Episode: ep2}); err != nil {
		t.Fatal(err)
	}
	hits, err := s.SearchEpisodes(ctx, k, []float32{1, 0}, 5)
	if err != nil || len(hits) != 2 || hits[0].ID != "i1" {
		t.Errorf("SearchEpisodes = %v, %v; want i1 then i2", hits, err)
	}
	if p := rawGet(t, db, userItemKey(k))["pend"]; p != nil {
		t.Errorf("the user item still holds a pending change: %v", p)
	}
}

// TestMemoryLateWriteOut: a writer that writes out an episode after it
// was deleted, or after its user was forgotten, does not bring it back.
func TestMemoryLateWriteOut(t *testing.T) {
	db := openDB(t)
	s := NewMemoryStore(db, memory.QueueOptions{})
	ctx := context.Background()
	k := memory.Key{Tenant: "acme", User: "bob"}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	late := func(id string, wv int64) *pending {
		return &pending{WV: wv, Episode: &memory.Episode{ID: id, Tenant: k.Tenant, User: k.User, Query: "q", At: at},
			Vector: []byte{0, 0, 0x80, 0x3f}}
	}
	in := &memory.Interaction{ID: "e1", Tenant: k.Tenant, User: k.User, Query: "q", At: at}
	if err := s.Apply(ctx, memory.Change{Key: k, Version: 0, Interaction: in, Episode: late("e1", 1).Episode}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, memory.Change{Key: k, Version: 1, DeleteEpisodes: []string{"e1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.writeOut(ctx, k, late("e1", 1)); err != nil {
		t.Fatal(err)
	}
	if it := rawGet(t, db, key(userPK(k), "e#e1")); len(it) != 0 {
		t.Error("a late write brought a deleted episode back")
	}
	if err := s.ForgetUser(ctx, k, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.writeOut(ctx, k, late("e2", 2)); err != nil {
		t.Fatal(err)
	}
	if hits, _ := s.SearchEpisodes(ctx, k, []float32{1}, 5); len(hits) != 0 {
		t.Errorf("a late write brought back an episode of a forgotten user: %v", hits)
	}
}

// TestSessionFoldMany folds more turns than one update expression can
// remove, with the rewrite that replaces it.
func TestSessionFoldMany(t *testing.T) {
	s := NewSessionStore(openDB(t), session.StoreOptions{})
	ctx := context.Background()
	k := session.Key{Tenant: "acme", ID: "long"}
	turns := make([]session.Turn, 2*maxFoldRemove)
	for i := range turns {
		turns[i] = session.Turn{Role: llm.RoleUser, Content: fmt.Sprint("t", i+1), At: time.Now()}
	}
	if err := s.Append(ctx, k, turns...); err != nil {
		t.Fatal(err)
	}
	through := int64(len(turns) - 2)
	if err := s.Fold(ctx, k, session.Fold{From: 0, Through: through, Summary: "S"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.Summary != "S" || got.SummaryThrough != through || len(got.Turns) != 2 || got.Turns[0].Seq != through+1 || got.Turns[0].Content != fmt.Sprint("t", through+1) {
		t.Errorf("after folding %d turns: summary %q through %d, turns %+v", through, got.Summary, got.SummaryThrough, got.Turns)
	}
	if err := s.Fold(ctx, k, session.Fold{From: 0, Through: through + 1, Summary: "stale"}); !errors.Is(err, session.ErrConflict) {
		t.Errorf("Fold from a stale summary = %v; want ErrConflict", err)
	}
}
