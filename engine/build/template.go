package build

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// TemplateContextOptions describe the image of a bundle whose manifest names
// a `dockerfile:` template.
type TemplateContextOptions struct {
	// Binary is the static StackHub binary (the runtime and the mixins).
	Binary string
	// Files is the bundle folder.
	Files fs.FS
	// Template is the Dockerfile template's path inside Files.
	Template string
	// MixinLines are the mixins' build output.
	MixinLines []string
	// Manifest is the canonical porter.yaml (/cnab/app/porter.yaml).
	Manifest []byte
	// BundleJSON is /cnab/bundle.json.
	BundleJSON []byte
	// BuildArgs are CUSTOM_* and the user's --build-arg values.
	BuildArgs map[string]string
	// FromRewrite maps base image names to the images used instead.
	FromRewrite map[string]string
	// BuildKit is true when the Engine's BuildKit builds the image.
	BuildKit bool
}

// CheckTemplateName refuses a template named Dockerfile, as Porter does: the
// generated Dockerfile takes that name.
func CheckTemplateName(name string) error {
	if strings.EqualFold(path.Base(name), "Dockerfile") {
		return fmt.Errorf("the dockerfile template %q must not be named Dockerfile: rename it, for example to Dockerfile.tmpl", name)
	}
	return nil
}

// TemplateDockerfile renders the Dockerfile of a template bundle.
func TemplateDockerfile(opts TemplateContextOptions) (Dockerfile, error) {
	if err := CheckTemplateName(opts.Template); err != nil {
		return Dockerfile{}, err
	}
	tmpl, err := fs.ReadFile(opts.Files, opts.Template)
	if err != nil {
		return Dockerfile{}, fmt.Errorf("read dockerfile template %s: %w", opts.Template, err)
	}
	files, err := contextFiles(opts.Files)
	if err != nil {
		return Dockerfile{}, err
	}
	hasManifest := false
	for _, f := range files {
		if f == "porter.yaml" {
			hasManifest = true
		}
	}
	args := map[string]string{"BUNDLE_DIR": AppDir}
	for k, v := range opts.BuildArgs {
		args[k] = v
	}
	df, err := GenerateDockerfile(DockerfileOptions{
		Template: string(tmpl), MixinLines: opts.MixinLines, ManifestInContext: hasManifest,
		BuildArgs: args, FromRewrite: opts.FromRewrite, BuildKit: opts.BuildKit,
	})
	if err != nil {
		return Dockerfile{}, fmt.Errorf("dockerfile template %s: %w", opts.Template, err)
	}
	for i, n := range df.Notes {
		df.Notes[i] = opts.Template + " " + n
	}
	return df, nil
}

// TemplateContext is the build context of a template bundle: the bundle's
// files (less .dockerignore) at the root, the generated Dockerfile, and
// .cnab/ with the runtime, the mixins, the canonical manifest and
// bundle.json, laid out as Porter does.
func TemplateContext(opts TemplateContextOptions) (io.Reader, Dockerfile, error) {
	df, err := TemplateDockerfile(opts)
	if err != nil {
		return nil, Dockerfile{}, err
	}
	dockerfile := df.Text
	files, err := contextFiles(opts.Files)
	if err != nil {
		return nil, Dockerfile{}, err
	}
	bin, err := os.ReadFile(opts.Binary)
	if err != nil {
		return nil, Dockerfile{}, fmt.Errorf("read runtime binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	w := &tarWriter{tw: tw}
	w.file("Dockerfile", []byte(dockerfile), 0o644, 0, 0)
	made := map[string]bool{}
	mkdirs := func(f string) {
		var dirs []string
		for dir := path.Dir(f); dir != "."; dir = path.Dir(dir) {
			dirs = append([]string{dir}, dirs...)
		}
		for _, d := range dirs {
			if !made[d] {
				made[d] = true
				w.dir(d, 0o755, 0, 0)
			}
		}
	}
	for _, f := range files {
		if f == "Dockerfile" {
			continue // the generated one takes its place
		}
		data, err := fs.ReadFile(opts.Files, f)
		if err != nil {
			return nil, Dockerfile{}, fmt.Errorf("read %s: %w", f, err)
		}
		mode := int64(0o644)
		if fi, err := fs.Stat(opts.Files, f); err == nil && fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		mkdirs(f)
		w.file(f, data, mode, 0, 0)
	}
	for _, d := range []string{".cnab", ".cnab/app", ".cnab/app/runtimes", ".cnab/app/mixins", ".cnab/app/mixins/exec",
		".cnab/app/mixins/exec/runtimes", ".cnab/app/mixins/stackhub", ".cnab/app/mixins/stackhub/runtimes",
		".cnab/app/outputs", ".cnab/app/porter", ".cnab/app/porter/outputs"} {
		w.dir(d, 0o755, 0, 0)
	}
	const runtime = AppDir + "/runtimes/porter-runtime"
	w.file(".cnab/app/runtimes/porter-runtime", bin, 0o755, 0, 0)
	for _, l := range Links {
		if l == "cnab/app/runtimes/porter-runtime" {
			continue
		}
		w.link("."+l, runtime)
	}
	w.file(".cnab/app/porter.yaml", opts.Manifest, 0o644, 0, 0)
	w.file(".cnab/bundle.json", opts.BundleJSON, 0o644, 0, 0)
	w.file(".cnab/Dockerfile", []byte(dockerfile), 0o644, 0, 0)
	if w.err != nil {
		return nil, Dockerfile{}, fmt.Errorf("stage bundle image: %w", w.err)
	}
	if err := tw.Close(); err != nil {
		return nil, Dockerfile{}, fmt.Errorf("stage bundle image: %w", err)
	}
	return &buf, df, nil
}
