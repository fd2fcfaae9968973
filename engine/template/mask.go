package template

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every occurrence of a secret in masked output.
const Mask = "*******"

// secretSet is a de-duplicated list of secrets, longest first, so that the
// longest secret wins when several match at the same position.
type secretSet []string

func newSecretSet(secrets []string) secretSet {
	seen := map[string]bool{}
	var out secretSet
	for _, s := range secrets {
		if strings.TrimSpace(s) == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// mask scans buf and appends the masked text to dst. Unless final, it stops
// at the first position where the rest of buf is a proper prefix of a secret
// (more data could complete it) and returns how many bytes of buf it
// consumed; the caller keeps the rest for later.
func (ss secretSet) mask(dst, buf []byte, final bool) ([]byte, int) {
	i := 0
	for i < len(buf) {
		rest := buf[i:]
		if !final && ss.couldStart(rest) {
			return dst, i
		}
		matched := false
		for _, s := range ss {
			if len(rest) >= len(s) && string(rest[:len(s)]) == s {
				dst = append(dst, Mask...)
				i += len(s)
				matched = true
				break
			}
		}
		if !matched {
			dst = append(dst, buf[i])
			i++
		}
	}
	return dst, i
}

// couldStart reports whether rest is a proper prefix of some secret.
func (ss secretSet) couldStart(rest []byte) bool {
	for _, s := range ss {
		if len(rest) < len(s) && s[:len(rest)] == string(rest) {
			return true
		}
	}
	return false
}

// MaskString replaces each occurrence of a secret in s with Mask (7
// asterisks). Empty and whitespace-only secrets are ignored; where secrets
// overlap, the leftmost and then longest match wins.
func MaskString(s string, secrets []string) string {
	ss := newSecretSet(secrets)
	if len(ss) == 0 {
		return s
	}
	out, _ := ss.mask(make([]byte, 0, len(s)), []byte(s), true)
	return string(out)
}

// Masker is a censoring writer: it writes to the underlying writer what is
// written to it with every secret replaced by Mask. A secret split across
// two Write calls is still masked: only a tail that could be the beginning
// of a secret is held back (never more than the longest secret), and Flush
// or Close writes it out. Masker is safe for concurrent use.
type Masker struct {
	mu      sync.Mutex
	w       io.Writer
	secrets secretSet
	pending []byte
	out     []byte
}

var _ io.WriteCloser = (*Masker)(nil)

// NewMasker returns a Masker writing to w. Call Flush or Close when done so
// that a held-back tail is written.
func NewMasker(w io.Writer, secrets []string) *Masker {
	return &Masker{w: w, secrets: newSecretSet(secrets)}
}

// Write masks p and writes what is safe to write now. It reports len(p)
// written unless the underlying writer fails.
func (m *Masker) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.secrets) == 0 {
		return m.w.Write(p)
	}
	m.pending = append(m.pending, p...)
	if err := m.emit(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes the held-back tail, masked as if the stream ended here.
func (m *Masker) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.emit(true)
}

// Close flushes; it does not close the underlying writer.
func (m *Masker) Close() error {
	return m.Flush()
}

func (m *Masker) emit(final bool) error {
	if len(m.pending) == 0 {
		return nil
	}
	var n int
	m.out, n = m.secrets.mask(m.out[:0], m.pending, final)
	m.pending = append(m.pending[:0], m.pending[n:]...)
	if len(m.out) == 0 {
		return nil
	}
	_, err := m.w.Write(m.out)
	return err
}

// SensitiveValues returns the strings to mask for one sensitive value: the
// value itself as the runtime renders it and, for objects and arrays (as
// decoded from JSON), every leaf and every nested object or array as
// compact JSON, so that any fragment a step prints is masked.
func SensitiveValues(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case nil:
		case string:
			out = append(out, t)
		case map[string]any:
			out = append(out, compactJSON(t))
			for _, e := range t {
				walk(e)
			}
		case []any:
			out = append(out, compactJSON(t))
			for _, e := range t {
				walk(e)
			}
		default:
			out = append(out, fmt.Sprint(t))
		}
	}
	walk(v)
	return out
}
