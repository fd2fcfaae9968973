package build

import (
	"bufio"
	"bytes"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// Ignore is a parsed .dockerignore: patterns in order, later ones win, a
// leading ! re-includes. Patterns follow Docker's rules: path.Match syntax
// plus ** for any number of folders; a pattern matching a folder excludes
// everything under it.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

// LoadIgnore reads .dockerignore from the bundle folder; a missing file
// ignores nothing.
func LoadIgnore(fsys fs.FS) (*Ignore, error) {
	data, err := fs.ReadFile(fsys, ".dockerignore")
	if err != nil {
		return &Ignore{}, nil //nolint:nilerr // no .dockerignore: nothing is ignored
	}
	return ParseIgnore(data), nil
}

// ParseIgnore parses .dockerignore text.
func ParseIgnore(data []byte) *Ignore {
	ig := &Ignore{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		if neg {
			line = strings.TrimSpace(line[1:])
		}
		line = path.Clean(strings.TrimPrefix(line, "/"))
		if line == "." {
			continue
		}
		re, err := globRegexp(line)
		if err != nil {
			continue
		}
		ig.rules = append(ig.rules, ignoreRule{re: re, negate: neg})
	}
	return ig
}

// globRegexp translates a Docker ignore pattern to a regexp that matches the
// path itself or anything under it.
func globRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				i++
				if i+1 < len(p) && p[i+1] == '/' {
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := p[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(string(p[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("(?:/.*)?$")
	return regexp.Compile(b.String())
}

// Excluded reports whether the slash-separated relative path is excluded.
func (ig *Ignore) Excluded(p string) bool {
	if ig == nil {
		return false
	}
	excluded := false
	for _, r := range ig.rules {
		if r.re.MatchString(p) {
			excluded = !r.negate
		}
	}
	return excluded
}
