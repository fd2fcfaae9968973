package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stackhub/stackhub/engine/manifest"
)

// Port is a named port an app publishes (a stackhub step's ports entry).
type Port struct {
	Name     string `json:"name"`
	Service  string `json:"service"`
	Target   int    `json:"target"`
	Protocol string `json:"protocol"`
	// Host is a pinned host port; 0 lets StackHub choose.
	Host int `json:"host,omitempty"`
	// HostIP is the address the port is published on; empty: all.
	HostIP string `json:"hostIP,omitempty"`
}

// Entry is one app of one source, as the catalog lists it.
type Entry struct {
	Name string `json:"name"`
	// Source names the catalog source offering the app ("builtin", ...).
	Source string `json:"source"`
	// Version is the bundle's version.
	Version string `json:"version"`
	Meta
	Ports []Port `json:"ports"`
}

// EntryFrom describes the app name of source from its manifest.
func EntryFrom(name, source string, m *manifest.Manifest) Entry {
	return Entry{Name: name, Source: source, Version: m.Version, Meta: MetaFrom(m.Custom, name, m.Description), Ports: Ports(m)}
}

// Ports returns the named ports the stackhub steps of the install action
// ask for, first declaration of a name winning.
func Ports(m *manifest.Manifest) []Port {
	var out []Port
	seen := map[string]bool{}
	for _, s := range m.Actions[manifest.ActionInstall] {
		if s.Mixin != "stackhub" {
			continue
		}
		list, _ := s.Data["ports"].([]any)
		for _, item := range list {
			pm, ok := item.(map[string]any)
			if !ok {
				continue
			}
			p := Port{Name: str(pm["name"]), Service: str(pm["service"]), Target: int(float(pm["target"])),
				Protocol: str(pm["protocol"]), Host: int(float(pm["host"])), HostIP: str(pm["hostIP"])}
			if p.Protocol == "" {
				p.Protocol = "tcp"
			}
			if p.Name == "" || seen[p.Name] {
				continue
			}
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	return out
}

// Paging limits.
const (
	DefaultPerPage = 50
	MaxPerPage     = 200
)

// Sort orders.
const (
	SortName     = "name"
	SortTitle    = "title"
	SortCategory = "category"
)

// Query selects a page of the catalog.
type Query struct {
	// Q holds words that must all appear (case-insensitive) in an app's
	// name, title, description, keywords or category, in either language.
	Q        string
	Category string
	// Sort is name (default), title or category.
	Sort    string
	Page    int
	PerPage int
}

// QueryError says which field of a Query is wrong and how to fix it.
type QueryError struct {
	Field, Msg, Hint string
}

func (e *QueryError) Error() string { return e.Field + ": " + e.Msg }

// Normalize fills defaults (page 1, 50 per page, sort by name) and checks
// the rest.
func (q Query) Normalize() (Query, error) {
	if q.Page == 0 {
		q.Page = 1
	}
	if q.PerPage == 0 {
		q.PerPage = DefaultPerPage
	}
	if q.Sort == "" {
		q.Sort = SortName
	}
	switch {
	case q.Page < 1:
		return q, &QueryError{"page", fmt.Sprintf("page %d is not a page number", q.Page), "pages count from 1"}
	case q.PerPage < 1 || q.PerPage > MaxPerPage:
		return q, &QueryError{"per_page", fmt.Sprintf("per_page %d is out of range", q.PerPage), fmt.Sprintf("use 1 to %d", MaxPerPage)}
	case q.Sort != SortName && q.Sort != SortTitle && q.Sort != SortCategory:
		return q, &QueryError{"sort", fmt.Sprintf("cannot sort by %q", q.Sort), "sort by name, title or category"}
	case q.Category != "" && !IsCategory(q.Category):
		return q, &QueryError{"category", fmt.Sprintf("%q is not a category", q.Category), "use one of " + strings.Join(Categories, ", ")}
	}
	q.Q = strings.TrimSpace(q.Q)
	return q, nil
}

// CategoryCount is how many apps matching a search are in a category.
type CategoryCount struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Result is one page of a search.
type Result struct {
	Entries []Entry
	// Total counts every match, on all pages.
	Total   int
	Page    int
	PerPage int
	// Categories counts the apps matching Q in each category (before the
	// category filter), in the fixed order of Categories.
	Categories []CategoryCount
}

// Index answers searches over a fixed set of entries. Build it once per
// change of the catalog; it is safe for concurrent use.
type Index struct {
	entries []Entry
	// hay[i] is entries[i]'s searchable text, lower-cased once.
	hay []string
	// titles[i] is entries[i]'s lower-cased English title, for sorting.
	titles []string
	// byTitle and byCategory are entry positions in those orders.
	byTitle, byCategory []int
}

// NewIndex indexes entries, ordered by name; entries of the same name keep
// their order in entries (the catalog lists its preferred source first).
func NewIndex(entries []Entry) *Index {
	es := append([]Entry(nil), entries...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	ix := &Index{entries: es, hay: make([]string, len(es)), titles: make([]string, len(es))}
	var b strings.Builder
	for i, e := range es {
		b.Reset()
		for _, s := range append([]string{e.Name, e.Title.En, e.Title.Zh, e.Description.En, e.Description.Zh, e.Category}, e.Keywords...) {
			b.WriteString(s)
			b.WriteByte('\n')
		}
		ix.hay[i] = strings.ToLower(b.String())
		ix.titles[i] = strings.ToLower(e.Title.In("en"))
	}
	ix.byTitle = ix.order(func(i, j int) bool { return ix.titles[i] < ix.titles[j] })
	ix.byCategory = ix.order(func(i, j int) bool { return es[i].Category < es[j].Category })
	return ix
}

func (ix *Index) order(less func(i, j int) bool) []int {
	idx := make([]int, len(ix.entries))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return less(idx[a], idx[b]) })
	return idx
}

// Len is the number of entries.
func (ix *Index) Len() int { return len(ix.entries) }

// Get returns the entries named name, one per source offering it, the
// preferred source first.
func (ix *Index) Get(name string) []Entry {
	i := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].Name >= name })
	var out []Entry
	for ; i < len(ix.entries) && ix.entries[i].Name == name; i++ {
		out = append(out, ix.entries[i])
	}
	return out
}

// Search answers q, which must have been normalized.
func (ix *Index) Search(q Query) Result {
	terms := strings.Fields(strings.ToLower(q.Q))
	match := make([]bool, len(ix.entries))
	counts := map[string]int{}
	total := 0
	for i := range ix.entries {
		ok := true
		for _, t := range terms {
			if !strings.Contains(ix.hay[i], t) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		counts[ix.entries[i].Category]++
		if q.Category != "" && ix.entries[i].Category != q.Category {
			continue
		}
		match[i] = true
		total++
	}
	res := Result{Total: total, Page: q.Page, PerPage: q.PerPage, Entries: []Entry{}, Categories: []CategoryCount{}}
	for _, c := range Categories {
		if counts[c] > 0 {
			res.Categories = append(res.Categories, CategoryCount{Name: c, Count: counts[c]})
		}
	}
	skip := (q.Page - 1) * q.PerPage
	visit := func(i int) bool {
		if !match[i] {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		res.Entries = append(res.Entries, ix.entries[i])
		return len(res.Entries) < q.PerPage
	}
	switch q.Sort {
	case SortTitle:
		for _, i := range ix.byTitle {
			if !visit(i) {
				break
			}
		}
	case SortCategory:
		for _, i := range ix.byCategory {
			if !visit(i) {
				break
			}
		}
	default:
		for i := range ix.entries {
			if !visit(i) {
				break
			}
		}
	}
	return res
}
