package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The registry docs and the repository's own markdown link to each other by relative paths.
// A link the registry resolves but GitHub does not (no ".md"), a renamed file or a heading
// that moved breaks silently; this test follows every relative link and every #anchor.
// External links are not followed: the tests reach no network.

// markdownLink matches [text](target) and ![alt](target), target without spaces.
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// htmlAnchor matches the <a id="nestedatt--jwt"></a> anchors tfplugindocs writes.
var htmlAnchor = regexp.MustCompile(`<a (?:id|name)="([^"]+)"`)

func TestMarkdownLinksResolve(t *testing.T) {
	files := []string{"README.md"}
	for _, optional := range []string{"CONTRIBUTING.md"} {
		if _, err := os.Stat(optional); err == nil {
			files = append(files, optional)
		}
	}
	err := filepath.WalkDir("docs", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v: run the test from the repository root", files)
	}
	checked := 0
	for _, file := range files {
		for _, l := range linksIn(t, file) {
			target, anchor, _ := strings.Cut(l.target, "#")
			if isExternal(target) {
				continue
			}
			checked++
			resolved := file // "#anchor" alone points into the same file
			if target != "" {
				resolved = filepath.Join(filepath.Dir(file), target)
				info, err := os.Stat(resolved)
				if err != nil {
					t.Errorf("%s:%d: link %q: %s does not exist", file, l.line, l.target, resolved)
					continue
				}
				if !info.IsDir() && filepath.Ext(resolved) == "" {
					t.Errorf("%s:%d: link %q names a file without its extension", file, l.line, l.target)
				}
				if info.IsDir() {
					continue
				}
			} else if filepath.Ext(file) == "" {
				continue
			}
			if anchor != "" && strings.HasSuffix(resolved, ".md") && !headingAnchors(t, resolved)[anchor] {
				t.Errorf("%s:%d: link %q: %s has no heading whose anchor is #%s", file, l.line, l.target, resolved, anchor)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link found: the link pattern no longer matches the docs")
	}
}

type link struct {
	target string
	line   int
}

// linksIn lists the links of a markdown file outside code blocks and code spans.
func linksIn(t *testing.T, file string) []link {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var links []link
	inFence := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(text), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		for _, m := range markdownLink.FindAllStringSubmatch(withoutCodeSpans(text), -1) {
			links = append(links, link{target: m[1], line: n})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return links
}

// withoutCodeSpans blanks `code`, where brackets and parentheses are not links.
func withoutCodeSpans(line string) string {
	parts := strings.Split(line, "`")
	for i := 1; i < len(parts); i += 2 {
		parts[i] = ""
	}
	return strings.Join(parts, "``")
}

func isExternal(target string) bool {
	for _, scheme := range []string{"http://", "https://", "mailto:"} {
		if strings.HasPrefix(target, scheme) {
			return true
		}
	}
	return false
}

// headingAnchors returns the anchors GitHub and the registry give a file's headings (lower
// case, punctuation dropped, spaces as hyphens, "-1" and on for repeats) and its HTML anchors.
func headingAnchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			anchors[m[1]] = true
		}
		if !strings.HasPrefix(line, "#") {
			continue
		}
		slug := slugOf(strings.TrimSpace(strings.TrimLeft(line, "#")))
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

func slugOf(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}
