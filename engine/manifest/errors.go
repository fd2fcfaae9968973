package manifest

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is a manifest error located at a field: it prints as
// "porter.yaml:12: parameters[2].default: <message>". It wraps both
// ErrInvalid and the underlying error.
type FieldError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns ErrInvalid and the underlying error.
func (e *FieldError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// fieldErr builds a FieldError at node n (nil when the node is unknown).
func (m *Manifest) fieldErr(n *yaml.Node, field string, err error) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &FieldError{File: m.Filename, Line: line, Field: field, Err: err}
}

// keyNode returns the value node of key inside n, falling back to n itself,
// so that errors point at the most precise line known.
func keyNode(n *yaml.Node, key string) *yaml.Node {
	if v := fieldNode(n, key); v != nil {
		return v
	}
	return n
}

// at returns the i-th node of list, or nil.
func at(list []*yaml.Node, i int) *yaml.Node {
	if i < 0 || i >= len(list) {
		return nil
	}
	return list[i]
}
