package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"time"
)

// pageFiles are the operator's page: HTML, CSS and one script, embedded in
// the binary so that the page works offline and needs no build step.
//
//go:embed page/index.html page/admin.css page/admin.js
var pageFiles embed.FS

// pageCSP is the page's Content-Security-Policy: everything from Cato's own
// origin, no inline script or style, no framing, no plug-ins, and forms and
// links that cannot leave the page.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is one file of the page, read once.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// pageAssets returns the page's files by URL path: /admin is index.html,
// the others are under /admin/. It panics when a file is missing, which
// the go:embed line rules out at compile time.
func pageAssets() map[string]asset {
	files := map[string]struct{ name, ctype string }{
		"/admin":           {"index.html", "text/html; charset=utf-8"},
		"/admin/admin.css": {"admin.css", "text/css; charset=utf-8"},
		"/admin/admin.js":  {"admin.js", "text/javascript; charset=utf-8"},
	}
	out := make(map[string]asset, len(files))
	for p, f := range files {
		b, err := pageFiles.ReadFile(path.Join("page", f.name))
		if err != nil {
			panic("api: embedded page file missing: " + err.Error())
		}
		sum := sha256.Sum256(b)
		out[p] = asset{body: b, ctype: f.ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return out
}

// pageRoutes serves the operator's page. The page itself carries no data
// and needs no key; the admin API calls it makes do.
func (s *Server) pageRoutes() []route {
	var rs []route
	for p, a := range pageAssets() {
		rs = append(rs, route{p, public, map[string]http.HandlerFunc{http.MethodGet: a.serve}})
	}
	return rs
}

// serve writes the asset with the page's security headers. The browser
// revalidates on every load (no-cache) against the asset's ETag, so a new
// binary's page is picked up at once and an unchanged one costs a 304.
func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
