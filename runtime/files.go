package runtime

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stackhub/stackhub/engine/manifest"
)

// initialize prepares the image before the first step: the outputs
// directory, file parameters decoded in place and the previous state.
func (r *run) initialize() error {
	if err := os.MkdirAll(r.paths.Outputs(), 0o755); err != nil {
		return fmt.Errorf("unable to ensure CNAB outputs directory exists: %w", err)
	}
	if err := r.decodeFileParameters(); err != nil {
		return err
	}
	return r.unpackState()
}

// fileParam is a parameter delivered as base64 text in a file.
type fileParam struct {
	name string
	path string // image path
}

// fileParameters lists the file parameters that apply to the action: those
// of bundle.json (including porter-state) and, as a fallback, the
// manifest's file parameters bundle.json does not declare.
func (r *run) fileParameters() []fileParam {
	var out []fileParam
	seen := map[string]bool{}
	names := make([]string, 0, len(r.bundle.Parameters))
	for n := range r.bundle.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := r.bundle.Parameters[n]
		seen[n] = true
		if !manifest.AppliesTo(p.ApplyTo, r.action) || !r.bundle.isFile(p) || p.path() == "" {
			// A file definition without a path can't be decoded; Porter
			// fails here, we leave the value alone.
			continue
		}
		out = append(out, fileParam{name: n, path: p.path()})
	}
	for _, p := range r.m.Parameters {
		if seen[p.Name] || !manifest.AppliesTo(p.ApplyTo, r.action) || p.Path == "" {
			continue
		}
		if p.Type == "file" || (p.Type == "" && p.Env == "") {
			out = append(out, fileParam{name: p.Name, path: manifest.ResolvePath(p.Path)})
		}
	}
	return out
}

// decodeFileParameters base64-decodes each file parameter in place; the
// literal text null (an unset optional parameter) deletes the file.
func (r *run) decodeFileParameters() error {
	for _, fp := range r.fileParameters() {
		p := r.paths.Host(fp.path)
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("unable to acquire value for parameter %s: %w", fp.name, err)
		}
		if string(b) == "null" {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("unable to remove destination path of parameter %s: %w", fp.name, err)
			}
			continue
		}
		decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return fmt.Errorf("unable to decode parameter %s: %w", fp.name, err)
		}
		if err := os.WriteFile(p, decoded, 0o600); err != nil {
			return fmt.Errorf("unable to write decoded parameter %s: %w", fp.name, err)
		}
	}
	return nil
}

// unpackState writes each porter-state/<name> entry of /porter/state.tgz
// to that state variable's path (porter-compat.md 5.6).
func (r *run) unpackState() error {
	if len(r.m.State) == 0 {
		return nil
	}
	archive := r.paths.StateArchive()
	b, err := os.ReadFile(archive)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state archive: %w", err)
	}
	if string(b) == "null" {
		_ = os.Remove(archive)
		return nil
	}
	if len(b) == 0 {
		return nil
	}
	dests := map[string]string{}
	for _, s := range r.m.State {
		dests[s.Name] = s.Path
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("could not create a new gzip reader for the statefile: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read state archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(h.Name, "porter-state/")
		dest, ok := dests[name]
		if !ok || dest == "" {
			continue
		}
		p := r.paths.Host(manifest.ResolvePath(dest))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("error creating state file %s: %w", dest, err)
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
		if err != nil {
			return fmt.Errorf("error creating state file %s: %w", dest, err)
		}
		_, copyErr := io.Copy(f, tr)
		closeErr := f.Close()
		if err := errors.Join(copyErr, closeErr); err != nil {
			return fmt.Errorf("error unpacking state file %s: %w", dest, err)
		}
	}
}

// finalize copies file-based bundle outputs no step produced and packs the
// state; it runs even when a step failed.
func (r *run) finalize() error {
	return errors.Join(r.applyUnboundOutputs(), r.packState())
}

func (r *run) applyUnboundOutputs() error {
	var errs []error
	for _, o := range r.m.Outputs {
		if o.Path == "" || !manifest.AppliesTo(o.ApplyTo, r.action) {
			continue
		}
		if _, produced := r.stepOutputs[o.Name]; produced {
			continue
		}
		src := r.paths.Host(manifest.ResolvePath(o.Path))
		if _, err := os.Stat(src); err != nil {
			continue
		}
		dst := filepath.Join(r.paths.Outputs(), o.Name)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			errs = append(errs, fmt.Errorf("unable to copy output file from %s to %s: %w", src, dst, err))
		}
	}
	return errors.Join(errs...)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, copyErr := io.Copy(out, in)
	return errors.Join(copyErr, out.Close())
}

// packState archives every state variable whose file exists into
// /cnab/app/outputs/porter-state. It is always written, as Porter's
// runtime does: bundle.json declares porter-state as a required output of
// every action; the host does not keep it for actions that don't modify
// the installation.
func (r *run) packState() error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	var errs []error
	for _, s := range r.m.State {
		if err := packStateFile(tw, s.Name, r.paths.Host(manifest.ResolvePath(s.Path))); err != nil {
			errs = append(errs, err)
		}
	}
	if err := tw.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close state archive: %w", err))
	}
	if err := gz.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close state archive: %w", err))
	}
	if err := os.MkdirAll(r.paths.Outputs(), 0o755); err != nil {
		return errors.Join(append(errs, fmt.Errorf("error creating porter statefile: %w", err))...)
	}
	if err := os.WriteFile(filepath.Join(r.paths.Outputs(), StateOutput), buf.Bytes(), 0o600); err != nil {
		errs = append(errs, fmt.Errorf("error creating porter statefile: %w", err))
	}
	return errors.Join(errs...)
}

func packStateFile(tw *tar.Writer, name, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("error reading state file %s for variable %s: %w", path, name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("state variable %s: %s is not a regular file", name, path)
	}
	h, err := tar.FileInfoHeader(fi, "")
	if err != nil {
		return fmt.Errorf("error creating tar header for state variable %s from path %s: %w", name, path, err)
	}
	h.Name = "porter-state/" + name
	h.Uname, h.Gname = "", ""
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("error writing tar header for state variable %s: %w", name, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("error reading state file %s for variable %s: %w", path, name, err)
	}
	defer f.Close()
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("error archiving state file %s for variable %s: %w", path, name, err)
	}
	return nil
}
