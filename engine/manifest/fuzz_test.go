package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the porter.yaml parser, then to
// Validate and Lint: they may refuse, never panic or hang.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"))
	f.Add([]byte("install:\n  - exec: {command: '{{ bundle.parameters.x }}'}\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("name: x\nversion: 1.0.0\nmixins: [{stackhub: {x: 1}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "porter.yaml")
		if err != nil {
			if m != nil {
				t.Fatalf("Parse returned a manifest and an error: %v", err)
			}
			return
		}
		_ = m.Validate(ValidateOptions{})
		_ = Lint(m)
	})
}
