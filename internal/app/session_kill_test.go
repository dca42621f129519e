package app

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSessionKillRestart sends session turns from parallel clients to a
// gateway process, kills it with SIGKILL while turns are in flight,
// starts it again on the same store and checks through the HTTP API that
// every turn the gateway acknowledged (200) is in its session: an
// acknowledged turn is never lost.
func TestSessionKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway in child processes")
	}
	backends := memoryBackends(t)
	backends["redis"] = redisDatabase
	for name, storeURL := range backends {
		t.Run(name, func(t *testing.T) {
			sessionKillRestart(t, storeURL(t))
		})
	}
}

func sessionKillRestart(t *testing.T, storeURL string) {
	const (
		clients   = 8
		perClient = 12 // turns a client sends at most
		killAfter = 40 // acknowledged turns before the kill
	)
	p := startGatewayProcess(t, storeURL, "serve")
	var (
		mu    sync.Mutex
		acked = map[string][]string{} // session -> acknowledged queries
		n     int
	)
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			session := fmt.Sprintf("kill-%d", c)
			client := &http.Client{Timeout: 20 * time.Second}
			for i := range perClient {
				q := fmt.Sprintf("turn %s of client %s", killLetters(i), killLetters(c))
				body := fmt.Sprintf(`{"query": %q, "session_id": %q}`, q, session)
				req, _ := http.NewRequest(http.MethodPost, p.base+"/api/cato/query", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer key-a")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the gateway is gone
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					select {
					case <-killed:
						return
					default:
						t.Errorf("turn %q before the kill: status %d", q, resp.StatusCode)
						return
					}
				}
				mu.Lock()
				acked[session] = append(acked[session], q)
				n++
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		done := n >= killAfter
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d turns acknowledged within 2m", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(killed)
	p.kill() // SIGKILL, with turns in flight
	wg.Wait()

	p = startGatewayProcess(t, storeURL, "serve")
	total := 0
	for session, queries := range acked {
		req, _ := http.NewRequest(http.MethodGet, p.base+"/api/cato/sessions/"+session, nil)
		req.Header.Set("Authorization", "Bearer key-a")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET session %s after the restart: %d %s", session, resp.StatusCode, b)
		}
		doc := decode[struct {
			Turns []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"turns"`
		}](t, b)
		stored := map[string]bool{}
		for _, turn := range doc.Turns {
			if turn.Role == "user" {
				stored[turn.Content] = true
			}
		}
		for _, q := range queries {
			total++
			if !stored[q] {
				t.Errorf("session %s: acknowledged turn %q lost across SIGKILL", session, q)
			}
		}
	}
	t.Logf("%d acknowledged turns in %d sessions, all kept across SIGKILL", total, len(acked))
}
