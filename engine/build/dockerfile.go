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
	// BuildKit is true when the image is built by the Engine's BuildKit
	// (its built-in Dockerfile frontend): RUN --mount=type=cache, bind and
	// tmpfs are kept. With the classic builder they are refused.
	BuildKit bool
}

// Dockerfile is a generated Dockerfile and what generating it changed in
// the template, to be said in the build output.
type Dockerfile struct {
	Text string
	// Notes say, line by line of the template, what was rewritten or
	// ignored.
	Notes []string
}

// TemplateError is a template line that cannot be built as written.
type TemplateError struct {
	Line   int
	Text   string
	Reason string
}

func (e *TemplateError) Error() string {
	text := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(e.Text), "\\"))
	return fmt.Sprintf("line %d: %s: %s", e.Line, text, e.Reason)
}

var (
	linkRe = regexp.MustCompile(`(?i)^(\s*(?:COPY|ADD)\s+(?:--\S+\s+)*?)--link(?:=(?:true|false))?\s+`)
	runRe  = regexp.MustCompile(`(?i)^\s*RUN\s`)
)

var fromRe = regexp.MustCompile(`(?i)^(\s*FROM\s+)((?:--\S+\s+)*)(\S+)(.*)$`)
var argRe = regexp.MustCompile(`(?i)^(\s*ARG\s+)([A-Za-z_][A-Za-z0-9_]*)(=.*)?\s*$`)

// GenerateDockerfile turns a Dockerfile template into the bundle image's
// Dockerfile as Porter does (4.2), adapted to the builders a Docker Engine
// offers offline: its BuildKit's built-in frontend or its classic builder.
// Both ignore a `# syntax=` line (the frontend image cannot be pulled
// without a registry) and neither knows COPY --link, which is rewritten to
// COPY (--link only changes how the layer is cached, not what it holds).
// RUN --mount is kept for BuildKit (cache, bind, tmpfs) and refused
// otherwise, with the template's line number; secret and ssh mounts need a
// client session and are always refused. Notes say what was changed.
func GenerateDockerfile(opts DockerfileOptions) (Dockerfile, error) {
	var notes []string
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
	for i, l := range lines {
		n := i + 1
		trimmed := strings.TrimSpace(l)
		if m := linkRe.FindStringSubmatch(l); m != nil {
			l = m[1] + l[len(m[0]):]
			notes = append(notes, fmt.Sprintf("line %d: %s --link rewritten to %s: the engine's Dockerfile frontend does not know --link, and without it the layer holds the same files",
				n, strings.ToUpper(strings.Fields(m[1])[0]), strings.ToUpper(strings.Fields(m[1])[0])))
			trimmed = strings.TrimSpace(l)
		}
		if runRe.MatchString(l) {
			for _, f := range strings.Fields(l)[1:] {
				if !strings.HasPrefix(f, "--") {
					break
				}
				if spec, ok := strings.CutPrefix(f, "--mount="); ok {
					if err := checkMount(spec, opts.BuildKit); err != nil {
						return Dockerfile{}, &TemplateError{Line: n, Text: l, Reason: err.Error()}
					}
				}
			}
		}
		switch {
		case strings.HasPrefix(trimmed, "# syntax="), strings.HasPrefix(strings.ReplaceAll(trimmed, " ", ""), "#syntax="):
			notes = append(notes, fmt.Sprintf("line %d: %s ignored: that frontend image cannot be pulled without a registry; the engine's built-in Dockerfile frontend is used", n, trimmed))
			continue
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
	return Dockerfile{Text: strings.Join(out, "\n") + "\n", Notes: notes}, nil
}

// checkMount accepts a RUN --mount=<spec> that the builder can honour.
func checkMount(spec string, buildKit bool) error {
	typ := "bind"
	for _, kv := range strings.Split(spec, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "type") {
			typ = strings.ToLower(v)
		}
	}
	switch typ {
	case "cache", "bind", "tmpfs":
		if !buildKit {
			return fmt.Errorf("RUN --mount=type=%s needs BuildKit, and this image is built with the classic builder (the Engine offers no BuildKit, or --builder classic asked for it); remove the --mount option (the step then runs without the mount, and what it writes there stays in the image)", typ)
		}
		return nil
	case "secret", "ssh":
		return fmt.Errorf("RUN --mount=type=%s needs a BuildKit session with the client, which StackHub's offline build does not open; pass the value with --build-arg or a credential instead", typ)
	}
	return fmt.Errorf("RUN --mount=type=%s is not a mount type BuildKit knows", typ)
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
