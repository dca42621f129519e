package appconfig

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cato-gateway/cato/internal/rollout"
)

// fakeAppConfig speaks the AppConfigData REST-JSON protocol: a session
// gives a token, each GetLatestConfiguration spends it and hands out the
// next, and the content comes back only when it changed since the last
// call of the session.
type fakeAppConfig struct {
	t *testing.T

	mu        sync.Mutex // guards the fields below
	doc       string
	label     string
	version   int            // bumped by set
	tokens    map[string]int // live token -> content version its session last saw
	sessions  int
	spent     map[string]bool
	gets      int
	expireAll bool
}

func newFake(t *testing.T, doc, label string) (*fakeAppConfig, *httptest.Server) {
	f := &fakeAppConfig{t: t, doc: doc, label: label, version: 1, tokens: map[string]int{}, spent: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAppConfig) set(doc, label string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.doc, f.label = doc, label
	f.version++
}

func (f *fakeAppConfig) fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"Message":%q}`, msg)
}

func (f *fakeAppConfig) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
		f.fail(w, http.StatusForbidden, "AccessDeniedException", "unsigned request")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/configurationsessions":
		var in struct {
			ApplicationIdentifier, EnvironmentIdentifier, ConfigurationProfileIdentifier string
			RequiredMinimumPollIntervalInSeconds                                         int
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ApplicationIdentifier != "cato" ||
			in.EnvironmentIdentifier != "prod" || in.ConfigurationProfileIdentifier != "rollout" || in.RequiredMinimumPollIntervalInSeconds < 15 {
			f.fail(w, http.StatusBadRequest, "BadRequestException", fmt.Sprintf("bad session request %+v %v", in, err))
			return
		}
		f.sessions++
		tok := fmt.Sprintf("s%d-t0", f.sessions)
		f.tokens[tok] = 0
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"InitialConfigurationToken":%q}`, tok)
	case r.Method == http.MethodGet && r.URL.Path == "/configuration":
		tok := r.URL.Query().Get("configuration_token")
		seen, ok := f.tokens[tok]
		if !ok || f.expireAll {
			f.fail(w, http.StatusBadRequest, "BadRequestException", "Request contains an expired or invalid token")
			return
		}
		delete(f.tokens, tok)
		f.gets++
		next := fmt.Sprintf("%s-%d", tok, f.gets)
		f.tokens[next] = f.version
		w.Header().Set("Next-Poll-Configuration-Token", next)
		w.Header().Set("Next-Poll-Interval-In-Seconds", "0")
		w.Header().Set("Content-Type", "application/json")
		if f.label != "" {
			w.Header().Set("Version-Label", f.label)
		}
		w.WriteHeader(http.StatusOK)
		if seen != f.version {
			fmt.Fprint(w, f.doc)
		}
	default:
		f.fail(w, http.StatusNotFound, "ResourceNotFoundException", r.Method+" "+r.URL.Path)
	}
}

func newSource(t *testing.T, endpoint string, store rollout.FlagStore, dec *rollout.Decider) *Source {
	t.Helper()
	awsCfg := aws.Config{
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
	}
	target := Target{Application: "cato", Environment: "prod", Profile: "rollout", Region: "eu-west-1", Endpoint: endpoint}
	return New(Options{Target: target, Poll: time.Millisecond, Client: NewClient(awsCfg, target), Store: store, Decider: dec, Log: slog.New(slog.DiscardHandler)})
}

func TestPollTokenDance(t *testing.T) {
	fake, srv := newFake(t, `{"use_new_orchestrator": {"percentage": 10}}`, "v1")
	store := &rollout.MemoryStore{}
	dec := rollout.NewDecider(rollout.Flag{Percentage: 100}, rollout.DeciderOptions{})
	src := newSource(t, srv.URL, store, dec)
	ctx := t.Context()

	poll := func(step string) {
		t.Helper()
		if _, err := src.Poll(ctx); err != nil {
			t.Fatalf("%s: Poll: %v", step, err)
		}
	}
	poll("first")
	f, err := store.Get(ctx)
	if err != nil || f.Percentage != 10 || f.Source != rollout.SourceAppConfig || f.Ref != "v1" || f.Actor != "appconfig:cato/prod/rollout" {
		t.Fatalf("after first poll store = %+v, %v; want 10%% from appconfig, ref v1", f, err)
	}
	if dec.Flag().Percentage != 10 {
		t.Errorf("Decider not applied at once: %+v", dec.Flag())
	}
	poll("unchanged") // empty body: nothing new
	// An operator overrides through the admin API; AppConfig has not changed.
	if _, err := store.Set(ctx, rollout.Flag{Percentage: 0, Source: rollout.SourceCLI}); err != nil {
		t.Fatal(err)
	}
	poll("still unchanged")
	if f, _ := store.Get(ctx); f.Percentage != 0 {
		t.Errorf("an unchanged AppConfig overrode a later CLI change: %+v", f)
	}
	fake.set(`{"use_new_orchestrator": {"percentage": 50}, "other_flag": true}`, "v2")
	poll("changed")
	if f, _ := store.Get(ctx); f.Percentage != 50 || f.Ref != "v2" {
		t.Errorf("after AppConfig moved to v2 store = %+v; want 50%% ref v2", f)
	}
	h, _ := store.History(ctx, 0)
	if len(h) != 3 {
		t.Errorf("history has %d changes; want 3 (v1, cli, v2)", len(h))
	}
	if fake.sessions != 1 {
		t.Errorf("sessions started = %d; want 1 (tokens reused)", fake.sessions)
	}

	// The token expires: the next poll fails, the one after starts a new
	// session, whose first answer carries the whole (already applied) v2.
	fake.mu.Lock()
	fake.expireAll = true
	fake.mu.Unlock()
	if _, err := src.Poll(ctx); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("Poll with an expired token = %v; want the BadRequestException", err)
	}
	fake.mu.Lock()
	fake.expireAll = false
	fake.mu.Unlock()
	poll("new session")
	if fake.sessions != 2 {
		t.Errorf("sessions started = %d; want a second one after the expiry", fake.sessions)
	}
	if h2, _ := store.History(ctx, 0); len(h2) != 3 {
		t.Errorf("history has %d changes after the new session; want still 3 (v2 not written twice)", len(h2))
	}
}

func TestPollWithoutLabelUsesContentHash(t *testing.T) {
	_, srv := newFake(t, `{"use_new_orchestrator": {"percentage": 25}}`, "")
	store := &rollout.MemoryStore{}
	src := newSource(t, srv.URL, store, nil)
	if _, err := src.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A second replica (a new Source, so a new session) sees the same content.
	if _, err := newSource(t, srv.URL, store, nil).Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, _ := store.History(t.Context(), 0)
	if len(h) != 1 || !strings.HasPrefix(h[0].Ref, "sha256:") || h[0].Percentage != 25 {
		t.Errorf("history = %+v; want one change at 25%% with a content hash ref", h)
	}
}

func TestPollRejectsBadDocument(t *testing.T) {
	for _, doc := range []string{`{"use_new_orchestrator": {"percentage": 120}}`, `{"percentage": 10}`, `not json`} {
		_, srv := newFake(t, doc, "bad")
		store := &rollout.MemoryStore{}
		if _, err := newSource(t, srv.URL, store, nil).Poll(t.Context()); err == nil {
			t.Errorf("Poll of %s succeeded; want an error", doc)
		}
		if _, err := store.Get(t.Context()); err == nil {
			t.Errorf("a bad document %s reached the store", doc)
		}
	}
}

func TestRun(t *testing.T) {
	_, srv := newFake(t, `{"use_new_orchestrator": {"percentage": 5}}`, "v1")
	store := &rollout.MemoryStore{}
	ctx, cancel := context.WithCancel(t.Context())
	ch, _ := store.Watch(ctx)
	done := make(chan error, 1)
	go func() { done <- newSource(t, srv.URL, store, nil).Run(ctx) }()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("Run wrote nothing in 10s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v; want nil after cancel", err)
	}
	if f, _ := store.Get(t.Context()); f.Percentage != 5 {
		t.Errorf("store = %+v; want 5%%", f)
	}
}
