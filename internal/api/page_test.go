package api

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestAdminPage: /admin and its assets are served without a key, from the
// binary, with the security headers, and revalidated by ETag.
func TestAdminPage(t *testing.T) {
	auth := &Auth{}
	auth.SetAdminKey("secret")
	srv := httptest.NewServer(New(Options{Auth: auth}))
	defer srv.Close()

	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/admin", "text/html; charset=utf-8", `<script src="/admin/admin.js" defer></script>`},
		{"/admin/admin.js", "text/javascript; charset=utf-8", `"/api/admin/cato/rollout"`},
		{"/admin/admin.css", "text/css; charset=utf-8", "font:"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			for h, want := range map[string]string{
				"Content-Type":            tc.ctype,
				"Content-Security-Policy": pageCSP,
				"X-Frame-Options":         "DENY",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Cache-Control":           "no-cache",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q; want %q", h, got, want)
				}
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			req.Header.Set("If-None-Match", etag)
			again, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			again.Body.Close()
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation with the ETag: status %d; want 304", again.StatusCode)
			}
		})
	}

	// The page carries no data, so it needs no key; the API it calls does.
	resp, err := http.Get(srv.URL + "/api/admin/cato/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status without a key: %d; want 401", resp.StatusCode)
	}
	for _, p := range []string{"/admin/", "/admin/other.js", "/admin/page/index.html"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d; want 404", p, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /admin: status %d; want 405", resp.StatusCode)
	}
}

// TestAdminPageSelfContained: the embedded page loads nothing from another
// origin (no CDN, no web fonts) and has no inline script or style, which
// its Content-Security-Policy would refuse.
func TestAdminPageSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)https?:|wss?:|(src|href|action)="//|@import|url\(|@font-face`)
	inline := regexp.MustCompile(`(?i)<script>|<script(\s+[a-z]+="[^"]*")*\s*>[^<]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	n := 0
	err := fs.WalkDir(pageFiles, "page", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := pageFiles.ReadFile(p)
		if err != nil {
			return err
		}
		if m := external.Find(b); m != nil {
			t.Errorf("%s refers to something outside Cato: %q", p, m)
		}
		if strings.HasSuffix(p, ".html") {
			if m := inline.Find(b); m != nil {
				t.Errorf("%s has inline script or style: %q", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(pageAssets()) {
		t.Errorf("%d files embedded, %d served: every embedded file should be served", n, len(pageAssets()))
	}
}
