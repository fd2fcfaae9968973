package importers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stackhub/stackhub/engine"
)

// WriteOptions say where and how bundles are written.
type WriteOptions struct {
	// Dir is the folder of bundle folders (a catalog folder).
	Dir string
	// Replace lets a bundle folder that already exists be replaced.
	Replace bool
}

// Write writes every converted bundle of the report as <Dir>/<name> and
// records the path in its result. A bundle folder that exists is left
// alone (and its result says so) unless Replace is set. Each folder is
// written beside its final place and renamed, so a failed write leaves no
// half-written bundle.
func Write(r *Report, o WriteOptions) error {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return &engine.UserError{Msg: fmt.Sprintf("create output folder %s: %v", o.Dir, err),
			Hint: "pass a writable folder with --out", Err: err}
	}
	seen := map[string]string{}
	for i := range r.Results {
		res := &r.Results[i]
		if !res.Converted {
			continue
		}
		if other, ok := seen[res.Name]; ok {
			res.Converted, res.Bundle = false, nil
			res.Reasons = append(res.Reasons, fmt.Sprintf("the app %s of the same store also becomes the bundle %s", other, res.Name))
			continue
		}
		seen[res.Name] = res.App
		dst := filepath.Join(o.Dir, res.Name)
		if _, err := os.Stat(dst); err == nil && !o.Replace {
			res.Converted, res.Bundle = false, nil
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s already exists; pass --replace to overwrite it", dst))
			continue
		}
		if err := writeBundle(dst, res.Bundle); err != nil {
			return err
		}
		res.Path = dst
	}
	return nil
}

func writeBundle(dst string, b *Bundle) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+"-")
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", b.Name, err)
	}
	defer os.RemoveAll(tmp)
	for _, name := range slices.Sorted(maps.Keys(b.Files)) {
		if strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("write bundle %s: bad file name %q", b.Name, name)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b.Files[name], 0o644); err != nil {
			return fmt.Errorf("write bundle %s: %w", b.Name, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write bundle %s: %w", b.Name, err)
	}
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = dst + ".stackhub-old"
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("write bundle %s: %w", b.Name, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		if old != "" {
			_ = os.Rename(old, dst)
		}
		return fmt.Errorf("write bundle %s: %w", b.Name, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write bundle %s: remove the replaced folder: %w", b.Name, err)
		}
	}
	return nil
}

// ImportAll converts the app folders dirs of a store checkout at root,
// reading each with read; a folder read cannot describe is reported as not
// converted, with read's reason.
func ImportAll(ctx context.Context, store, root string, dirs []string, read func(dir string) (*Spec, error)) *Report {
	r := &Report{Store: store, Source: root}
	for _, dir := range dirs {
		spec, err := read(dir)
		if err != nil {
			r.Results = append(r.Results, Result{Store: store, App: filepath.Base(dir), Reasons: []string{err.Error()}})
			continue
		}
		r.Results = append(r.Results, Convert(ctx, spec))
	}
	r.Sort()
	return r
}

// Folders returns the app folders under root that hold marker (a file
// name), or root itself when it holds marker: a store checkout or one app.
// storeDirs are the sub-folders a store checkout keeps its apps in.
func Folders(root, marker string, storeDirs ...string) ([]string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, &engine.UserError{Msg: fmt.Sprintf("read %s: %v", root, err),
			Hint: "pass the path of a store checkout or of one app's folder", Kind: engine.ErrInvalid}
	}
	if !st.IsDir() {
		return nil, &engine.UserError{Msg: fmt.Sprintf("%s is not a folder", root),
			Hint: "pass the path of a store checkout or of one app's folder", Kind: engine.ErrInvalid}
	}
	if _, err := os.Stat(filepath.Join(root, marker)); err == nil {
		return []string{root}, nil
	}
	base := root
	for _, d := range storeDirs {
		if st, err := os.Stat(filepath.Join(root, d)); err == nil && st.IsDir() {
			base = filepath.Join(root, d)
			break
		}
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil, fmt.Errorf("read store %s: %w", base, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(base, e.Name(), marker)); err == nil {
			out = append(out, filepath.Join(base, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, &engine.UserError{Msg: fmt.Sprintf("%s holds no app: no %s in it or in its sub-folders", root, marker),
			Hint: "pass the store's checkout (or one app's folder) that matches the format you named", Kind: engine.ErrInvalid}
	}
	return out, nil
}

// BundleName turns a store ID into a bundle name: lowercase letters,
// digits and dashes.
func BundleName(id string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(id) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	n := strings.TrimRight(b.String(), "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}
