package exec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// EvalJSONPath evaluates a JSONPath expression against a decoded JSON
// document (maps, slices, json.Number or float64, strings, bools, nil).
//
// Supported: $ root, .name and ['name'] children, [n] indexes (negative from
// the end), .* and [*] wildcards, ..name recursive descent, unions
// ['a','b'] / [0,2], slices [start:end:step] and filters
// [?(@.x == 'y' && @.n > 1)] with == != < <= > >= =~ ! && || and parentheses.
//
// Like PaesslerAG/jsonpath, a path made only of plain children and indexes
// returns the single value and fails on a missing key or index; a path with
// any wildcard, recursion, union, slice or filter returns a list of every
// match (possibly empty).
func EvalJSONPath(path string, doc any) (any, error) {
	p := &jpParser{src: path}
	segs, err := p.parsePath(true)
	if err != nil {
		return nil, fmt.Errorf("parse jsonpath %q: %w", path, err)
	}
	return evalSegments(segs, doc, doc)
}

type segKind int

const (
	segChild segKind = iota
	segIndex
	segWildcard
	segSlice
	segFilter
)

type segment struct {
	kind      segKind
	recursive bool
	names     []string
	indexes   []int
	slice     [3]*int
	filter    jpExpr
}

// multi reports whether the segment may select several values.
func (s segment) multi() bool {
	return s.recursive || s.kind == segWildcard || s.kind == segSlice || s.kind == segFilter ||
		len(s.names) > 1 || len(s.indexes) > 1
}

func evalSegments(segs []segment, root, doc any) (any, error) {
	multi := false
	for _, s := range segs {
		if s.multi() {
			multi = true
		}
	}
	if !multi {
		cur := doc
		for _, s := range segs {
			next, err := s.single(cur)
			if err != nil {
				return nil, err
			}
			cur = next
		}
		return cur, nil
	}
	cur := []any{doc}
	for _, s := range segs {
		var next []any
		for _, v := range cur {
			next = append(next, s.apply(root, v)...)
		}
		cur = next
	}
	if cur == nil {
		cur = []any{}
	}
	return cur, nil
}

// single applies a plain child or index segment, failing when it is missing.
func (s segment) single(v any) (any, error) {
	switch s.kind {
	case segChild:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("unknown key %s", s.names[0])
		}
		val, ok := m[s.names[0]]
		if !ok {
			return nil, fmt.Errorf("unknown key %s", s.names[0])
		}
		return val, nil
	case segIndex:
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("unsupported value type %T for index [%d]", v, s.indexes[0])
		}
		i := s.indexes[0]
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, fmt.Errorf("index [%d] out of range", s.indexes[0])
		}
		return a[i], nil
	default:
		return nil, errors.New("unsupported jsonpath segment")
	}
}

// apply returns every match of the segment in v (and, for recursive
// segments, in all of v's descendants), skipping misses.
func (s segment) apply(root, v any) []any {
	if !s.recursive {
		return s.selectIn(root, v)
	}
	var out []any
	walk(v, func(n any) { out = append(out, s.selectIn(root, n)...) })
	return out
}

// walk visits v and all its descendants in document order (map keys sorted).
func walk(v any, fn func(any)) {
	fn(v)
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			walk(t[k], fn)
		}
	case []any:
		for _, e := range t {
			walk(e, fn)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func children(v any) []any {
	switch t := v.(type) {
	case map[string]any:
		out := make([]any, 0, len(t))
		for _, k := range sortedKeys(t) {
			out = append(out, t[k])
		}
		return out
	case []any:
		return t
	}
	return nil
}

func (s segment) selectIn(root, v any) []any {
	var out []any
	switch s.kind {
	case segChild:
		if m, ok := v.(map[string]any); ok {
			for _, n := range s.names {
				if val, ok := m[n]; ok {
					out = append(out, val)
				}
			}
		}
	case segIndex:
		if a, ok := v.([]any); ok {
			for _, i := range s.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
	case segWildcard:
		out = children(v)
	case segSlice:
		if a, ok := v.([]any); ok {
			out = sliceOf(a, s.slice)
		}
	case segFilter:
		for _, c := range children(v) {
			if truthy(s.filter.eval(root, c)) {
				out = append(out, c)
			}
		}
	}
	return out
}

func sliceOf(a []any, sl [3]*int) []any {
	n := len(a)
	step := 1
	if sl[2] != nil {
		step = *sl[2]
	}
	if step == 0 {
		return nil
	}
	norm := func(p *int, def int) int {
		if p == nil {
			return def
		}
		i := *p
		if i < 0 {
			i += n
		}
		return min(max(i, -1), n)
	}
	var out []any
	if step > 0 {
		start, end := max(norm(sl[0], 0), 0), norm(sl[1], n)
		for i := start; i < end; i += step {
			out = append(out, a[i])
		}
		return out
	}
	start, end := min(norm(sl[0], n-1), n-1), norm(sl[1], -1)
	for i := start; i > end; i += step {
		out = append(out, a[i])
	}
	return out
}

// jpParser parses paths and filter expressions.
type jpParser struct {
	src string
	pos int
}

func (p *jpParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *jpParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *jpParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

// parsePath parses "$..." (or "@..." inside filters). When top is true the
// whole input must be consumed.
func (p *jpParser) parsePath(top bool) ([]segment, error) {
	p.skipSpace()
	if c := p.peek(); c != '$' && c != '@' {
		return nil, p.errorf("a path must start with $")
	}
	p.pos++
	var segs []segment
	for p.pos < len(p.src) {
		c := p.peek()
		switch {
		case c == '.' && strings.HasPrefix(p.src[p.pos:], ".."):
			p.pos += 2
			var s segment
			var err error
			if p.peek() == '[' {
				s, err = p.parseBracket()
			} else {
				s, err = p.parseDotted()
			}
			if err != nil {
				return nil, err
			}
			s.recursive = true
			segs = append(segs, s)
		case c == '.':
			p.pos++
			s, err := p.parseDotted()
			if err != nil {
				return nil, err
			}
			segs = append(segs, s)
		case c == '[':
			s, err := p.parseBracket()
			if err != nil {
				return nil, err
			}
			segs = append(segs, s)
		default:
			if top {
				if c == ' ' || c == '\t' {
					p.skipSpace()
					if p.pos == len(p.src) {
						return segs, nil
					}
				}
				return nil, p.errorf("unexpected %q", c)
			}
			return segs, nil
		}
	}
	return segs, nil
}

func (p *jpParser) parseDotted() (segment, error) {
	if p.peek() == '*' {
		p.pos++
		return segment{kind: segWildcard}, nil
	}
	start := p.pos
	for p.pos < len(p.src) {
		r := rune(p.src[p.pos])
		if r == '_' || r == '-' || r >= 0x80 || unicode.IsLetter(r) || unicode.IsDigit(r) {
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		return segment{}, p.errorf("expected a name")
	}
	return segment{kind: segChild, names: []string{p.src[start:p.pos]}}, nil
}

func (p *jpParser) parseBracket() (segment, error) {
	p.pos++ // [
	p.skipSpace()
	var s segment
	switch c := p.peek(); {
	case c == '*':
		p.pos++
		s = segment{kind: segWildcard}
	case c == '?':
		p.pos++
		p.skipSpace()
		if p.peek() != '(' {
			return s, p.errorf("expected ( after ?")
		}
		p.pos++
		e, err := p.parseOr()
		if err != nil {
			return s, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			return s, p.errorf("expected ) to close the filter")
		}
		p.pos++
		s = segment{kind: segFilter, filter: e}
	case c == '\'' || c == '"':
		s.kind = segChild
		for {
			p.skipSpace()
			str, err := p.parseString()
			if err != nil {
				return s, err
			}
			s.names = append(s.names, str)
			p.skipSpace()
			if p.peek() != ',' {
				break
			}
			p.pos++
		}
	default:
		var err error
		s, err = p.parseIndexOrSlice()
		if err != nil {
			return s, err
		}
	}
	p.skipSpace()
	if p.peek() != ']' {
		return s, p.errorf("expected ]")
	}
	p.pos++
	return s, nil
}

func (p *jpParser) parseIndexOrSlice() (segment, error) {
	var parts [3]*int
	part := 0
	isSlice := false
	var indexes []int
	for {
		p.skipSpace()
		if n, ok := p.parseInt(); ok {
			v := n
			parts[part] = &v
		}
		p.skipSpace()
		switch p.peek() {
		case ':':
			if part == 2 {
				return segment{}, p.errorf("too many : in slice")
			}
			isSlice = true
			part++
			p.pos++
			continue
		case ',':
			if isSlice || parts[0] == nil {
				return segment{}, p.errorf("unexpected ,")
			}
			indexes = append(indexes, *parts[0])
			parts[0] = nil
			p.pos++
			continue
		}
		break
	}
	if isSlice {
		return segment{kind: segSlice, slice: parts}, nil
	}
	if parts[0] == nil {
		return segment{}, p.errorf("expected an index")
	}
	return segment{kind: segIndex, indexes: append(indexes, *parts[0])}, nil
}

func (p *jpParser) parseInt() (int, bool) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	if err != nil {
		p.pos = start
		return 0, false
	}
	return n, true
}

func (p *jpParser) parseString() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.errorf("expected a quoted string")
	}
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.src):
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		case c == q:
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errorf("unterminated string")
}

// jpExpr is a filter expression node.
type jpExpr interface {
	eval(root, current any) any
}

type (
	litExpr  struct{ v any }
	pathExpr struct {
		fromRoot bool
		segs     []segment
	}
	notExpr    struct{ e jpExpr }
	binaryExpr struct {
		op   string
		l, r jpExpr
	}
)

func (e litExpr) eval(_, _ any) any { return e.v }

func (e pathExpr) eval(root, current any) any {
	start := current
	if e.fromRoot {
		start = root
	}
	v, err := evalSegments(e.segs, root, start)
	if err != nil {
		return nil
	}
	return v
}

func (e notExpr) eval(root, current any) any { return !truthy(e.e.eval(root, current)) }

func (e binaryExpr) eval(root, current any) any {
	switch e.op {
	case "&&":
		return truthy(e.l.eval(root, current)) && truthy(e.r.eval(root, current))
	case "||":
		return truthy(e.l.eval(root, current)) || truthy(e.r.eval(root, current))
	}
	l, r := e.l.eval(root, current), e.r.eval(root, current)
	switch e.op {
	case "==":
		return equal(l, r)
	case "!=":
		return !equal(l, r)
	case "=~":
		ls, lok := l.(string)
		rs, rok := r.(string)
		if !lok || !rok {
			return false
		}
		re, err := regexp.Compile(rs)
		return err == nil && re.MatchString(ls)
	}
	c, ok := compare(l, r)
	if !ok {
		return false
	}
	switch e.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	}
	return true
}

func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil
	case float64:
		return t, true
	case int:
		return float64(t), true
	}
	return 0, false
}

func equal(l, r any) bool {
	if lf, ok := toFloat(l); ok {
		if rf, ok := toFloat(r); ok {
			return lf == rf
		}
	}
	return reflect.DeepEqual(l, r)
}

func compare(l, r any) (int, bool) {
	if lf, ok := toFloat(l); ok {
		if rf, ok := toFloat(r); ok {
			switch {
			case lf < rf:
				return -1, true
			case lf > rf:
				return 1, true
			}
			return 0, true
		}
	}
	ls, lok := l.(string)
	rs, rok := r.(string)
	if lok && rok {
		return strings.Compare(ls, rs), true
	}
	return 0, false
}

func (p *jpParser) parseOr() (jpExpr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "||") {
			return l, nil
		}
		p.pos += 2
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = binaryExpr{op: "||", l: l, r: r}
	}
}

func (p *jpParser) parseAnd() (jpExpr, error) {
	l, err := p.parseCmp()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "&&") {
			return l, nil
		}
		p.pos += 2
		r, err := p.parseCmp()
		if err != nil {
			return nil, err
		}
		l = binaryExpr{op: "&&", l: l, r: r}
	}
}

var cmpOps = []string{"==", "!=", "<=", ">=", "=~", "<", ">"}

func (p *jpParser) parseCmp() (jpExpr, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	for _, op := range cmpOps {
		if strings.HasPrefix(p.src[p.pos:], op) {
			p.pos += len(op)
			r, err := p.parseUnary()
			if err != nil {
				return nil, err
			}
			return binaryExpr{op: op, l: l, r: r}, nil
		}
	}
	return l, nil
}

func (p *jpParser) parseUnary() (jpExpr, error) {
	p.skipSpace()
	switch c := p.peek(); {
	case c == '!' && !strings.HasPrefix(p.src[p.pos:], "!="):
		p.pos++
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return notExpr{e: e}, nil
	case c == '(':
		p.pos++
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			return nil, p.errorf("expected )")
		}
		p.pos++
		return e, nil
	case c == '@' || c == '$':
		segs, err := p.parsePath(false)
		if err != nil {
			return nil, err
		}
		return pathExpr{fromRoot: c == '$', segs: segs}, nil
	case c == '\'' || c == '"':
		s, err := p.parseString()
		if err != nil {
			return nil, err
		}
		return litExpr{v: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && strings.IndexByte("0123456789.eE+-", p.src[p.pos]) >= 0 {
			p.pos++
		}
		f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, p.errorf("invalid number %q", p.src[start:p.pos])
		}
		return litExpr{v: f}, nil
	}
	for _, kw := range []struct {
		word string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if strings.HasPrefix(p.src[p.pos:], kw.word) {
			p.pos += len(kw.word)
			return litExpr{v: kw.v}, nil
		}
	}
	return nil, p.errorf("unexpected %q in filter", p.peek())
}
