package dynamostore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/keys/keystest"
)

func TestKeyStore(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (a, b keys.Store) {
		da := openDB(t)
		db := openTable(t, Options{Table: da.Table(), Region: "us-east-1", Endpoint: endpointOf(t)})
		return NewKeyStore(da), NewKeyStore(db)
	})
}

// TestKeyItemsExpire: a minute's counts and a period's spend carry the
// table's ttl attribute: the minute's five minutes after it began.
func TestKeyItemsExpire(t *testing.T) {
	db := openDB(t)
	s := NewKeyStore(db)
	now := time.Date(2026, 12, 6, 12, 0, 30, 0, time.UTC)
	s.now = func() time.Time { return now }
	ctx := t.Context()
	a := keys.Admission{ID: "key_1", Window: "202612061200", Period: "2026-12", Tokens: 10, RPM: 5, BudgetNano: 100}
	if _, err := s.Admit(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx, keys.Settlement{ID: a.ID, Window: a.Window, Period: a.Period, Tokens: 5, CostNano: 7}); err != nil {
		t.Fatal(err)
	}
	w := rawGet(t, db, keyWindowKey(a.ID, a.Window))
	if got, want := getN(w, attrTTL), time.Date(2026, 12, 6, 12, 5, 0, 0, time.UTC).Unix(); got != want {
		t.Errorf("window ttl = %d; want %d", got, want)
	}
	if got := getN(w, "t"); got != 15 {
		t.Errorf("window tokens = %d; want 15", got)
	}
	sp := rawGet(t, db, keySpendKey(a.ID, a.Period))
	if got, want := getN(sp, attrTTL), now.Add(spendKeep).Unix(); got != want {
		t.Errorf("spend ttl = %d; want %d", got, want)
	}
}

// TestKeyCreateHalfDone: a hash left by a Create that failed half-way
// reads as no key, and a Create refused for its id gives its hash back.
func TestKeyCreateHalfDone(t *testing.T) {
	db := openDB(t)
	s := NewKeyStore(db)
	ctx := t.Context()
	k := keys.Key{ID: "key_a", Tenant: "t", Hash: strings.Repeat("a", 64), Created: time.Now().UTC()}
	if err := s.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	// A hash claimed for key_a by a writer that died before writing its
	// record: key_a's record holds another hash.
	stray := strings.Repeat("b", 64)
	it := keyHashKey(stray)
	it["id"] = str(k.ID)
	if _, err := db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table, Item: it}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, stray); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Lookup of a stray hash = %v; want ErrNotFound", err)
	}
	dup := k
	dup.Hash = strings.Repeat("c", 64)
	if err := s.Create(ctx, dup); !errors.Is(err, keys.ErrExists) {
		t.Fatalf("Create(taken id) = %v; want ErrExists", err)
	}
	if it := rawGet(t, db, keyHashKey(dup.Hash)); len(it) != 0 {
		t.Errorf("the hash of a refused Create is still claimed: %v", it)
	}
	if got, err := s.Lookup(ctx, k.Hash); err != nil || got.ID != k.ID {
		t.Errorf("Lookup = %+v, %v; want key_a", got, err)
	}
}
