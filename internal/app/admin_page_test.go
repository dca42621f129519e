package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/testenv"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestAdminPageInChromium drives the operator's page in headless Chromium
// against a gateway with both sides: it enters the admin key, reads the
// split, raises the rollout to 50% and rolls it back with the page's
// button, and checks through the admin API that the flag is 0 with the
// actor and reason the page sent. The page must load nothing from outside
// the gateway. A screenshot is kept in CATO_TEST_ARTIFACTS.
func TestAdminPageInChromium(t *testing.T) {
	bin := testenv.Chromium(t)
	var legacyCalls atomic.Int32
	legacy := legacyServer(t, &legacyCalls)
	base, _ := serve(t, fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
  legacy: {provider: openai, base_url: %q, model_id: gpt-4o-mini}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
rollout: {percentage: 30, legacy: legacy}
`, legacy.URL+"/v1"), "embedded://"+t.TempDir(), "CATO_ADMIN_KEY=admin")

	sides := map[string]int{}
	for i := range 40 {
		resp, body := post(t, base+"/v1/chat/completions", fmt.Sprintf(`{"model":"auto","user":"user-%d","messages":[{"role":"user","content":"What is 2+2?"}]}`, i))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("chat: %d %s", resp.StatusCode, body)
		}
		sides[resp.Header.Get("X-Cato-Side")]++
	}
	if sides["new"] == 0 || sides["legacy"] == 0 {
		t.Fatalf("sides %v: want traffic on both", sides)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // CI runs as root
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1400),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	paused := make(chan fetch.RequestID, 64) // status answers held for satisfaction, below
	var (
		mu       sync.Mutex
		requests []string // every URL the page asked for
		problems []string // exceptions and security errors in the page
	)
	err := chromedp.Listen(browser, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		case *runtime.EventExceptionThrown:
			problems = append(problems, fmt.Sprintf("exception at %s:%d: %s", ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber, exceptionText(ev.ExceptionDetails)))
		case *fetch.EventRequestPaused:
			select {
			case paused <- ev.RequestID:
			default: // left paused: the page then never shows satisfaction
			}
		case *log.EventEntryAdded:
			// A Content-Security-Policy refusal is a security entry.
			if ev.Entry.Source == log.EntrySourceSecurity || ev.Entry.Source == log.EntrySourceJavascript {
				problems = append(problems, string(ev.Entry.Source)+": "+ev.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	// The page's Content-Security-Policy must refuse nothing the page does:
	// a script added through the protocol (which the policy does not
	// cover) records every refusal.
	if _, err := chromedp.Call(browser, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.cspRefusals = []; document.addEventListener("securitypolicyviolation", (e) => window.cspRefusals.push(e.violatedDirective + " " + e.blockedURI));`,
	}); err != nil {
		t.Fatal(err)
	}

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// waitText waits until the element's text is want: the page refreshes
	// every few seconds, and at once after a change it makes.
	waitText := func(sel, want string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.trim() === %q; })()`, sel, want)
		if _, err := chromedp.Run(browser, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("%s never read %q (it reads %q): %v", sel, want, text(sel), err)
		}
	}

	// Without the key, the page asks for it and shows no figures.
	if err := chromedp.Do(browser,
		chromedp.Navigate(base+"/admin"),
		chromedp.WaitVisible(chromedp.CSS("#admin-key")),
		chromedp.SendKeys(chromedp.CSS("#admin-key"), "admin"),
		chromedp.Click(chromedp.CSS("#key-submit")),
		chromedp.WaitVisible(chromedp.CSS("#dashboard")),
		chromedp.WaitVisible(chromedp.CSS("#side-new")),
	); err != nil {
		t.Fatalf("entering the key: %v", err)
	}
	if got := text("#rollout-percentage"); got != "30" {
		t.Errorf("percentage shown %q; want 30", got)
	}
	for side, n := range sides {
		if got := text("#side-" + side + " td.requests"); got != fmt.Sprint(n) {
			t.Errorf("%s side shows %q requests; want %d", side, got, n)
		}
	}
	if got := text("#breakers tbody"); !strings.Contains(got, "bedrock_haiku") || !strings.Contains(got, "closed") {
		t.Errorf("breakers show %q; want bedrock_haiku closed", got)
	}

	// Raise to 50% with the form.
	if err := chromedp.Do(browser,
		chromedp.SetValue(chromedp.CSS("#rollout-value"), "50"),
		chromedp.SendKeys(chromedp.CSS("#rollout-actor"), "ops-test"),
		chromedp.SendKeys(chromedp.CSS("#rollout-reason"), "page test raise"),
		chromedp.Click(chromedp.CSS("#rollout-set")),
	); err != nil {
		t.Fatalf("setting 50%%: %v", err)
	}
	waitText("#rollout-percentage", "50")
	if f := rolloutFlag(t, base); f.UseNewOrchestrator.Percentage != 50 || f.Current.Actor != "ops-test" || f.Current.Reason != "page test raise" {
		t.Errorf("after Set the flag is %+v; want 50%% by ops-test for \"page test raise\"", f)
	}

	// Roll back: the button asks first, then sets 0.
	if err := chromedp.Do(browser,
		chromedp.Click(chromedp.CSS("#rollback")),
		chromedp.WaitVisible(chromedp.CSS("#rollback-confirm")),
		chromedp.SetValue(chromedp.CSS("#rollback-reason"), "page test rollback"),
		chromedp.Click(chromedp.CSS("#rollback-confirm")),
	); err != nil {
		t.Fatalf("rolling back: %v", err)
	}
	waitText("#rollout-percentage", "0")
	f := rolloutFlag(t, base)
	if f.UseNewOrchestrator.Percentage != 0 || f.Current.Actor != "ops-test" || f.Current.Reason != "page test rollback" || f.Current.Source != "admin_api" {
		t.Errorf("after Rollback the flag is %+v; want 0%% by ops-test for \"page test rollback\" through admin_api", f)
	}
	if got := text("#history tbody"); !strings.Contains(got, "page test rollback") || !strings.Contains(got, "page test raise") {
		t.Errorf("history shows %q; want both changes", got)
	}

	png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(testenv.Artifacts(t), "admin-page.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the operator's page: %s", shot)

	// Satisfaction per side, when status reports it: the answers of status
	// get a rollout.satisfaction section on their way to the page.
	stopRating := rateStatus(t, browser, paused)
	if _, err := chromedp.Call(browser, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/api/admin/cato/status*", RequestStage: fetch.RequestStageResponse},
	}}); err != nil {
		t.Fatal(err)
	}
	waitText("#satisfaction-new td:nth-child(2)", "40")
	shown, cancelShown := context.WithTimeout(browser, 20*time.Second)
	defer cancelShown()
	if err := chromedp.Do(shown, chromedp.WaitVisible(chromedp.CSS("#satisfaction-new"))); err != nil {
		t.Fatalf("satisfaction is not shown: %v", err)
	}
	if got := text("#satisfaction-new"); !strings.Contains(got, "15.0%") {
		t.Errorf("new side's satisfaction shows %q; want a negative share of 15.0%%", got)
	}
	if got := text("#satisfaction-legacy"); !strings.Contains(got, "20.0%") {
		t.Errorf("legacy side's satisfaction shows %q; want a negative share of 20.0%%", got)
	}
	if _, err := chromedp.Call(browser, fetch.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	stopRating()

	refusals, err := chromedp.Run(browser, chromedp.Evaluate[[]string](`window.cspRefusals`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refusals {
		t.Errorf("the Content-Security-Policy refused %s", r)
	}

	mu.Lock()
	defer mu.Unlock()
	origin, _ := url.Parse(base)
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != origin.Scheme || u.Host != origin.Host {
			t.Errorf("the page asked for %s, outside %s", r, base)
		}
	}
	if len(requests) < 4 { // the page, its CSS and script, and the API
		t.Errorf("saw %d requests (%v); the network listener is not working", len(requests), requests)
	}
	for _, p := range problems {
		t.Errorf("page problem: %s", p)
	}
}

// rolloutView is the part of GET /api/admin/cato/rollout the page test
// reads.
type rolloutView struct {
	UseNewOrchestrator struct {
		Percentage float64 `json:"percentage"`
	} `json:"use_new_orchestrator"`
	Current struct {
		Actor  string `json:"actor"`
		Reason string `json:"reason"`
		Source string `json:"source"`
	} `json:"current"`
}

// rolloutFlag reads the flag through the admin API.
func rolloutFlag(t *testing.T, base string) rolloutView {
	t.Helper()
	return decode[rolloutView](t, adminGet(t, base+"/api/admin/cato/rollout"))
}

// exceptionText is what the browser says about an exception in the page.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// rateStatus answers each status request paused in the browser with the
// gateway's answer plus rollout.satisfaction (new: 40 ratings, 15%
// negative; legacy: 50 ratings, 20% negative), until the returned stop is
// called; stop returns once the goroutine that does it has.
func rateStatus(t *testing.T, browser context.Context, paused <-chan fetch.RequestID) (stop func()) {
	ctx, cancel := context.WithCancel(browser)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case id := <-paused:
				if err := addSatisfaction(ctx, id); err != nil && ctx.Err() == nil {
					t.Errorf("adding satisfaction to a status answer: %v", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

func addSatisfaction(ctx context.Context, id fetch.RequestID) error {
	res, err := chromedp.Call(ctx, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: id})
	if err != nil {
		return err
	}
	var st map[string]any
	if err := json.Unmarshal(res.Body, &st); err != nil {
		return fmt.Errorf("decoding %s: %w", res.Body, err)
	}
	ro, ok := st["rollout"].(map[string]any)
	if !ok {
		return fmt.Errorf("no rollout section in %s", res.Body)
	}
	ro["satisfaction"] = map[string]any{
		"new":    map[string]any{"ratings": 40, "positive": 30, "neutral": 4, "negative": 6, "negative_share": 0.15},
		"legacy": map[string]any{"ratings": 50, "positive": 35, "neutral": 5, "negative": 10, "negative_share": 0.2},
	}
	body, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
		RequestID: id, ResponseCode: http.StatusOK, Body: body,
		ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}},
	})
	return err
}
