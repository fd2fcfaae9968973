package build

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Tokens a Dockerfile template may hold (porter-compat.md 4.2).
const (
	TokenInit   = "# PORTER_INIT"
	TokenMixins = "# PORTER_MIXINS"
)

// DefaultDebianBase is the base of bundle images that need a shell: Porter's
// default base is Debian, built offline here with debootstrap
// (testdata/images/debian-base.sh).
const DefaultDebianBase = "stackhub/debian-base:bookworm"

// PorterDefaultBase is the image Porter's built-in Dockerfile template starts
// from. A template naming it is built on the configured Debian base when the
// image is not present locally, so Porter users' templates build offline.
const PorterDefaultBase = "debian:stable-slim"

// MixinBuildLines are the Dockerfile lines each known mixin's `build`
// command prints (both mixins live in StackHub's binary and need nothing at
// build time). The cli tests check them against the mixins' own output.
var MixinBuildLines = map[string]string{
	"exec":     "# exec mixin has no buildtime dependencies",
	"stackhub": "# stackhub mixin has no buildtime dependencies",
}

// InitLines replace # PORTER_INIT: the bundle user's arguments and the
// non-root user Porter's images run as.
func InitLines() []string {
	return []string{
		"ARG BUNDLE_DIR",
		fmt.Sprintf("ARG BUNDLE_UID=%d", UID),
		"ARG BUNDLE_USER=" + User,
		fmt.Sprintf("ARG BUNDLE_GID=%d", GID),
		"RUN useradd ${BUNDLE_USER} -m -u ${BUNDLE_UID} -g ${BUNDLE_GID} -o",
	}
}

// DockerfileOptions are the inputs of GenerateDockerfile.
type DockerfileOptions struct {
	// Template is the user's Dockerfile template text.
	Template string
	// MixinLines are the mixins' build output, in manifest order.
	MixinLines []string
	// ManifestInContext is true when porter.yaml is part of the build
	// context (it is then removed from the image, replaced by the canonical
	// one under /cnab/app).
	ManifestInContext bool
	// BuildArgs are the values of ARGs (BUNDLE_DIR, CUSTOM_*, --build-arg).
	// The classic builder has them baked in as ARG defaults, which is what
	// --build-arg does for a declared ARG.
	BuildArgs map[string]string
	// FromRewrite maps base image names to the image used instead (e.g.
	// debian:stable-slim to the local Debian base when offline).
	FromRewrite map[string]string
}

var fromRe = regexp.MustCompile(`(?i)^(\s*FROM\s+)((?:--\S+\s+)*)(\S+)(.*)$`)
var argRe = regexp.MustCompile(`(?i)^(\s*ARG\s+)([A-Za-z_][A-Za-z0-9_]*)(=.*)?\s*$`)

// GenerateDockerfile turns a Dockerfile template into the bundle image's
// Dockerfile as Porter does (4.2), adapted to the classic builder: no
// `# syntax` line and no COPY --link (the Engine API's builder runs without
// BuildKit and without network).
func GenerateDockerfile(opts DockerfileOptions) string {
	lines := strings.Split(strings.ReplaceAll(opts.Template, "\r\n", "\n"), "\n")
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var out []string
	initDone, mixinsDone := false, false
	hasInit := false
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), TokenInit) {
			hasInit = true
		}
	}
	for _, l := range lines {
		trimmed := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(trimmed, "# syntax="):
			continue // BuildKit only
		case !initDone && strings.HasPrefix(trimmed, TokenInit):
			out = append(out, InitLines()...)
			initDone = true
			continue
		case !mixinsDone && strings.HasPrefix(trimmed, TokenMixins):
			out = append(out, opts.MixinLines...)
			mixinsDone = true
			continue
		}
		if m := fromRe.FindStringSubmatch(l); m != nil {
			img := m[3]
			if to, ok := opts.FromRewrite[img]; ok {
				img = to
			}
			// The classic builder cannot cross-build; the platform flag is
			// dropped (only linux/amd64 bundles exist anyway).
			var flags []string
			for _, f := range strings.Fields(m[2]) {
				if !strings.HasPrefix(strings.ToLower(f), "--platform") {
					flags = append(flags, f)
				}
			}
			prefix := m[1]
			if len(flags) > 0 {
				prefix += strings.Join(flags, " ") + " "
			}
			out = append(out, prefix+img+m[4])
			if !hasInit && !initDone {
				out = append(out, InitLines()...)
				initDone = true
			}
			continue
		}
		out = append(out, l)
	}
	if !mixinsDone {
		out = append(out, opts.MixinLines...)
	}
	out = append(out, "COPY . ${BUNDLE_DIR}")
	if opts.ManifestInContext {
		out = append(out, "RUN rm ${BUNDLE_DIR}/porter.yaml")
	}
	out = append(out,
		"RUN rm -fr ${BUNDLE_DIR}/.cnab",
		"COPY .cnab /cnab",
		"RUN chgrp -R ${BUNDLE_GID} /cnab && chmod -R g=u /cnab",
		"USER ${BUNDLE_UID}",
		"WORKDIR ${BUNDLE_DIR}",
		`CMD ["/cnab/app/run"]`,
	)
	for i, l := range out {
		if m := argRe.FindStringSubmatch(l); m != nil {
			if v, ok := opts.BuildArgs[m[2]]; ok {
				out[i] = m[1] + m[2] + "=" + quoteArg(v)
			}
		}
	}
	return strings.Join(out, "\n") + "\n"
}

func quoteArg(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\"'\\$\n") {
		return v
	}
	return strconv.Quote(v)
}

// CustomBuildArgs flattens a manifest's custom section into Porter's
// CUSTOM_* build arguments: custom.app.version → CUSTOM_APP_VERSION (names
// upper-cased, anything but [A-Z0-9_] replaced by _). Values longer than
// 5,000 characters are an error, as in Porter.
func CustomBuildArgs(custom map[string]any) (map[string]string, error) {
	args := map[string]string{}
	var walk func(prefix string, v any) error
	walk = func(prefix string, v any) error {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if err := walk(prefix+"_"+k, x[k]); err != nil {
					return err
				}
			}
			return nil
		case nil:
			return nil
		}
		name := argName(prefix)
		s := fmt.Sprint(v)
		if len(s) > 5000 {
			return fmt.Errorf("custom value %s is longer than 5000 characters and cannot be a build argument", name)
		}
		args[name] = s
		return nil
	}
	for k, v := range custom {
		if err := walk("CUSTOM_"+k, v); err != nil {
			return nil, err
		}
	}
	return args, nil
}

func argName(s string) string {
	s = strings.ToUpper(s)
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// DeclaredArgs lists the ARG names a Dockerfile declares.
func DeclaredArgs(dockerfile string) map[string]bool {
	got := map[string]bool{}
	for _, l := range strings.Split(dockerfile, "\n") {
		if m := argRe.FindStringSubmatch(l); m != nil {
			got[m[2]] = true
		}
	}
	return got
}
