package docstest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root returns the repository root: the nearest folder above the test's
// working directory that holds go.mod.
func root(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// pages lists the Markdown files a reader of the repository meets.
func pages(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"README.md", "docs/*.md", "bench/*.md"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 2 {
		t.Fatalf("found %d Markdown pages under %s; want README.md and docs/", len(out), root)
	}
	return out
}

var (
	fence     = regexp.MustCompile("(?ms)^ {0,3}(```|~~~).*?^ {0,3}```[^\n]*$|^ {0,3}~~~.*?^ {0,3}~~~[^\n]*$")
	codeSpan  = regexp.MustCompile("`[^`\n]*`")
	inline    = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	reference = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$`)
	climbing  = regexp.MustCompile(`(?:^|[\s(\x60'"])((?:\.\./)+[^\s)\x60'"]*)`)
	heading   = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	scheme    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// links returns the targets of the inline and reference links of text,
// outside code.
func links(text string) []string {
	text = codeSpan.ReplaceAllString(fence.ReplaceAllString(text, ""), "")
	var out []string
	for _, re := range []*regexp.Regexp{inline, reference} {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// slug is the anchor GitHub gives a heading: lower case, punctuation
// dropped, spaces turned into hyphens.
func slug(h string) string {
	h = strings.ToLower(codeSpan.ReplaceAllStringFunc(h, func(s string) string { return strings.Trim(s, "`") }))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func anchors(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
		out[slug(m[1])] = true
	}
	return out, nil
}

// inside reports whether path is root or below it.
func inside(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func TestRelativeLinksResolve(t *testing.T) {
	root := root(t)
	for _, page := range pages(t, root) {
		name, _ := filepath.Rel(root, page)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			for _, target := range links(string(b)) {
				if scheme.MatchString(target) {
					continue // http(s), mailto: not the repository's to check
				}
				file, frag, _ := strings.Cut(target, "#")
				path := page
				if file != "" {
					path = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
					if !inside(root, path) {
						t.Errorf("link %q leaves the repository", target)
						continue
					}
					if _, err := os.Stat(path); err != nil {
						t.Errorf("link %q: %s does not exist", target, filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator))))
						continue
					}
				}
				if frag != "" && strings.HasSuffix(path, ".md") {
					a, err := anchors(path)
					if err != nil {
						t.Fatal(err)
					}
					if !a[frag] {
						t.Errorf("link %q: no heading gives the anchor #%s", target, frag)
					}
				}
			}
		})
	}
}

// TestNoPathLeavesTheRepository catches the references a link checker
// misses: a path in prose or in a code span that climbs out of its folder
// must name a file of the repository, not one beside it such as
// `../shared/notes.md`.
func TestNoPathLeavesTheRepository(t *testing.T) {
	root := root(t)
	for _, page := range pages(t, root) {
		name, _ := filepath.Rel(root, page)
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range climbing.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
			path := filepath.Join(filepath.Dir(page), filepath.FromSlash(m[1]))
			if !inside(root, path) {
				t.Errorf("%s names %s, outside the repository", name, m[1])
				continue
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s names %s, which is not in the repository", name, m[1])
			}
		}
	}
}

// TestCheckersCatch runs the helpers on a page with one of each mistake,
// so that a checker that finds nothing cannot pass for one that works.
func TestCheckersCatch(t *testing.T) {
	text := "# Top `x` heading\n\n[ok](docs/api.md) [anchor](#top-x-heading) ![img](a.png \"t\")\n" +
		"`[not a link](nowhere.md)`\n```\n[nor this](gone.md)\n```\n[ref]: ../outside.md\nsee ../../etc/passwd\n"
	got := links(text)
	want := []string{"docs/api.md", "#top-x-heading", "a.png", "../outside.md"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("links = %q; want %q", got, want)
	}
	if s := slug("Top `x` heading"); s != "top-x-heading" {
		t.Errorf("slug = %q; want top-x-heading", s)
	}
	if m := climbing.FindAllStringSubmatch(text, -1); len(m) != 2 || m[1][1] != "../../etc/passwd" {
		t.Errorf("climbing paths = %q; want ../outside.md and ../../etc/passwd", m)
	}
	if inside("/repo", "/repo/../x") || !inside("/repo", "/repo/docs/a.md") {
		t.Error("inside misjudges a path")
	}
}
