package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/store/dynamostore"
	"github.com/cato-gateway/cato/internal/store/embedded"
	"github.com/cato-gateway/cato/internal/store/pgstore"
	"github.com/cato-gateway/cato/internal/store/redisstore"
	"github.com/cato-gateway/cato/internal/testenv"
)

// TestFlags checks that every backend hands out its own flag store, and
// that two stores of one backend share the flag and its change feed.
func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		url  func(t *testing.T) string
		want rollout.FlagStore
	}{
		{"embedded", func(t *testing.T) string { return "embedded://" + filepath.Join(t.TempDir(), "state") }, &embedded.FlagStore{}},
		{"redis", func(t *testing.T) string {
			b := make([]byte, 4)
			rand.Read(b)
			return testenv.RedisURL(t) + "?prefix=test-flags-" + hex.EncodeToString(b) + ":"
		}, &redisstore.FlagStore{}},
		{"postgres", func(t *testing.T) string { return testenv.PostgresURL(t) }, &pgstore.FlagStore{}},
		{"dynamodb", dynamoURL, &dynamostore.FlagStore{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			b, err := Open(context.Background(), tt.url(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			a, c := b.Flags(), b.Flags()
			if got, want := fmt.Sprintf("%T", a), fmt.Sprintf("%T", tt.want); got != want {
				t.Fatalf("Flags() is a %s; want a %s", got, want)
			}
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			ch, err := c.Watch(wctx)
			if err != nil {
				t.Fatal(err)
			}
			set, err := a.Set(ctx, rollout.Flag{Percentage: 0, Source: rollout.SourceCLI, Actor: "ops", Reason: "rollback"})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-ch:
			case <-time.After(15 * time.Second):
				t.Fatal("no change notification within 15s through a second Flags()")
			}
			got, err := c.Get(ctx)
			if err != nil || got.Version != set.Version || got.Reason != "rollback" {
				t.Errorf("Get through a second Flags() = %+v, %v; want %+v", got, err, set)
			}
			if rc := b.RedisClient(); rc != nil {
				// Leave the shared server as it was.
				keys, _ := rc.Redis().Keys(ctx, "*"+rc.Key()+"*").Result()
				for _, k := range keys {
					rc.Redis().Del(ctx, k)
				}
			}
		})
	}
}
