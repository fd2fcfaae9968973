package importers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/mixin"
)

// Bundle is a generated bundle folder: file name → content.
type Bundle struct {
	Name  string
	Files map[string][]byte
}

// Registry is where generated bundles say they would be published, like
// the built-in catalog's.
const Registry = "localhost/stackhub"

// ComposeFile is the name of the generated compose file.
const ComposeFile = "docker-compose.yml"

// storeTitles are the stores' names as people write them.
var storeTitles = map[string]string{"casaos": "CasaOS", "runtipi": "Runtipi", "umbrel": "Umbrel"}

func storeTitle(store string) string {
	if t, ok := storeTitles[store]; ok {
		return t
	}
	return store
}

// Convert turns an adapter's Spec into a bundle, or into the reasons it
// cannot become one. The bundle is checked the way a bundle author's is
// (manifest validation and lint, the mixin's lint, the mixin's compose
// loader); a bundle failing them is reported, never returned.
func Convert(ctx context.Context, s *Spec) Result {
	res := Result{Store: s.Store, App: s.ID, Name: s.Name, Warnings: slices.Clone(s.Warnings), Notes: slices.Clone(s.Notes)}
	refuse := slices.Clone(s.Refuse)
	if err := engine.ValidateName("bundle name", s.Name); err != nil {
		refuse = append(refuse, fmt.Sprintf("its ID %q gives no valid bundle name", s.ID))
	}
	c, err := convertCompose(s, s.Compose)
	if err != nil {
		refuse = append(refuse, err.Error())
	} else {
		refuse = append(refuse, sortedProblems(c.refuse)...)
		res.Warnings = append(res.Warnings, c.warnings...)
		res.Notes = append(res.Notes, c.notes...)
	}
	if len(refuse) > 0 {
		res.Reasons = slices.Compact(refuse)
		return res
	}
	// Parameters whose variable only served the store's own tooling
	// (reverse proxy labels, now removed) are dropped.
	if out, err := yaml.Marshal(c.doc); err == nil {
		s.Params = slices.DeleteFunc(slices.Clone(s.Params), func(p Param) bool { return !Uses(out, p.Env) })
	}
	b, err := render(s, c, res.Warnings)
	if err == nil {
		err = verify(ctx, b, s, c)
	}
	if err != nil {
		res.Reasons = []string{fmt.Sprintf("the generated bundle does not pass StackHub's checks: %v", err)}
		return res
	}
	res.Converted = true
	res.Bundle = b
	return res
}

// step builds the stackhub step of install and upgrade.
func step(s *Spec, c *converted, verb string) mixin.Step {
	st := mixin.Step{
		Description: fmt.Sprintf("%s %s", verb, s.Title.En),
		Compose:     mixin.StringList{ComposeFile},
		Main:        c.main,
		Ports:       c.ports,
		Wait:        &mixin.Wait{Timeout: "300s"},
	}
	for _, sec := range s.Secrets {
		st.Secrets = append(st.Secrets, mixin.SecretDecl{Name: sec.Name, Kind: sec.Kind, Length: mixin.Int{N: sec.Length},
			Alphabet: sec.Alphabet, Value: fmt.Sprintf("${ bundle.parameters.%s }", sec.Name)})
	}
	if len(s.Params) > 0 {
		st.Env = map[string]mixin.Scalar{}
		for _, p := range s.Params {
			st.Env[p.Env] = mixin.Scalar(fmt.Sprintf("${ bundle.parameters.%s }", p.Name))
		}
	}
	for _, p := range c.ports {
		st.Outputs = append(st.Outputs, mixin.Output{Name: p.Name, Port: p.Name})
	}
	st.Outputs = append(st.Outputs, mixin.Output{Name: "containerName", Container: "main"})
	for _, sec := range s.Secrets {
		st.Outputs = append(st.Outputs, mixin.Output{Name: sec.Name, Secret: sec.Name})
	}
	return st
}

type porterParam struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description,omitempty"`
	Type        string         `yaml:"type"`
	Sensitive   bool           `yaml:"sensitive,omitempty"`
	Default     any            `yaml:"default,omitempty"`
	Source      map[string]any `yaml:"source,omitempty"`
	ApplyTo     []string       `yaml:"applyTo,omitempty"`
}

type porterOutput struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description,omitempty"`
	Type        string   `yaml:"type"`
	Sensitive   bool     `yaml:"sensitive,omitempty"`
	ApplyTo     []string `yaml:"applyTo"`
}

type porterManifest struct {
	SchemaVersion string                     `yaml:"schemaVersion"`
	Name          string                     `yaml:"name"`
	Version       string                     `yaml:"version"`
	Description   string                     `yaml:"description"`
	Registry      string                     `yaml:"registry"`
	Custom        map[string]any             `yaml:"custom"`
	Mixins        []string                   `yaml:"mixins"`
	Required      []string                   `yaml:"required"`
	Parameters    []porterParam              `yaml:"parameters,omitempty"`
	Outputs       []porterOutput             `yaml:"outputs"`
	Install       []map[string]mixin.Step    `yaml:"install"`
	Upgrade       []map[string]mixin.Step    `yaml:"upgrade"`
	Uninstall     []map[string]uninstallStep `yaml:"uninstall"`
	CustomActions map[string]customAction    `yaml:"customActions"`
	Start         []map[string]mixin.Step    `yaml:"start"`
	Stop          []map[string]mixin.Step    `yaml:"stop"`
	Restart       []map[string]mixin.Step    `yaml:"restart"`
}

// uninstallStep is the uninstall step; purge is templated, which
// mixin.Step cannot hold.
type uninstallStep struct {
	Description string   `yaml:"description"`
	Compose     []string `yaml:"compose"`
	Purge       string   `yaml:"purge"`
}

type customAction struct {
	Description string `yaml:"description"`
	Modifies    bool   `yaml:"modifies"`
}

// deploying are the actions whose step deploys the compose project.
var deploying = []string{"install", "upgrade"}

// meta is the catalog metadata, custom.stackhub.
type meta struct {
	Title         Text              `yaml:"title"`
	Description   Text              `yaml:"description"`
	Category      string            `yaml:"category"`
	Keywords      []string          `yaml:"keywords,omitempty"`
	Homepage      string            `yaml:"homepage"`
	AppVersion    string            `yaml:"appVersion"`
	Requirements  map[string]int    `yaml:"requirements,omitempty"`
	Architectures []string          `yaml:"architectures,omitempty"`
	Icon          string            `yaml:"icon,omitempty"`
	IconURL       string            `yaml:"iconURL,omitempty"`
	Web           map[string]string `yaml:"web,omitempty"`
	Source        map[string]string `yaml:"source"`
}

// bundleVersion derives the bundle's semantic version from the app's.
func bundleVersion(appVersion string) string {
	if v, err := semver.NewVersion(strings.TrimSpace(appVersion)); err == nil {
		return v.String()
	}
	return "0.1.0"
}

func render(s *Spec, c *converted, warnings []string) (*Bundle, error) {
	files := map[string][]byte{}
	var compose bytes.Buffer
	enc := yaml.NewEncoder(&compose)
	enc.SetIndent(2)
	if err := enc.Encode(c.doc); err != nil {
		return nil, fmt.Errorf("write compose file: %w", err)
	}
	header := fmt.Sprintf("# Converted from the %s app %q by stackhub catalog import; ports and\n# secrets are declared in porter.yaml.\n", storeTitle(s.Store), s.ID)
	files[ComposeFile] = append([]byte(header), compose.Bytes()...)

	m := meta{
		Title: s.Title, Description: s.Description, Category: s.Category, Keywords: s.Keywords,
		Homepage: s.Homepage, AppVersion: s.AppVersion, Architectures: s.Architectures, IconURL: s.IconURL,
		Source: map[string]string{"store": s.Store, "app": s.ID},
	}
	if mb := (c.memory + 1<<20 - 1) >> 20; mb > 0 {
		m.Requirements = map[string]int{"memoryMB": int(mb)}
	}
	if s.Icon != "" {
		data, err := os.ReadFile(filepath.Join(s.Dir, s.Icon))
		if err != nil {
			return nil, fmt.Errorf("read icon: %w", err)
		}
		m.Icon = "icon" + strings.ToLower(filepath.Ext(s.Icon))
		m.IconURL = ""
		files[m.Icon] = data
	}
	if c.web != "" {
		for _, p := range c.ports {
			if p.Name == c.web {
				m.Web = map[string]string{"service": p.Service, "port": p.Name}
			}
		}
	}
	pm := porterManifest{
		SchemaVersion: "1.0.1",
		Name:          s.Name,
		Version:       bundleVersion(s.AppVersion),
		Description:   oneLine(FirstNonEmpty(s.Tagline.En, s.Description.En, s.Title.En)),
		Registry:      Registry,
		Custom:        map[string]any{"stackhub": m},
		Mixins:        []string{mixin.Name},
		Required:      []string{"docker"},
	}
	for _, p := range s.Params {
		pp := porterParam{Name: p.Name, Description: p.Description, Type: p.Type, Sensitive: p.Sensitive, Default: p.Default, ApplyTo: deploying}
		if pp.Type == "" {
			pp.Type = "string"
		}
		pm.Parameters = append(pm.Parameters, pp)
	}
	for _, sec := range s.Secrets {
		pm.Parameters = append(pm.Parameters, porterParam{Name: sec.Name, Description: sec.Description + " (generated on first install)",
			Type: "string", Sensitive: true, Default: "", Source: map[string]any{"output": sec.Name}, ApplyTo: deploying})
	}
	pm.Parameters = append(pm.Parameters, porterParam{Name: "purge", Description: "Uninstall also deletes the app's data (its volumes) and generated secrets",
		Type: "boolean", Default: false, ApplyTo: []string{"uninstall"}})
	for _, p := range c.ports {
		desc := fmt.Sprintf("Host port of %s's container port %d", p.Service, p.Target.N)
		if p.Protocol == "udp" {
			desc += "/udp"
		}
		pm.Outputs = append(pm.Outputs, porterOutput{Name: p.Name, Description: desc, Type: "string", ApplyTo: deploying})
	}
	pm.Outputs = append(pm.Outputs, porterOutput{Name: "containerName", Description: "Name of the main container", Type: "string", ApplyTo: deploying})
	for _, sec := range s.Secrets {
		pm.Outputs = append(pm.Outputs, porterOutput{Name: sec.Name, Description: sec.Description, Type: "string", Sensitive: true, ApplyTo: deploying})
	}
	pm.Install = []map[string]mixin.Step{{mixin.Name: step(s, c, "Deploy")}}
	pm.Upgrade = []map[string]mixin.Step{{mixin.Name: step(s, c, "Upgrade")}}
	pm.Uninstall = []map[string]uninstallStep{{mixin.Name: {Description: "Remove " + s.Title.En, Compose: []string{ComposeFile},
		Purge: "${ bundle.parameters.purge }"}}}
	pm.CustomActions = map[string]customAction{}
	for _, a := range []struct {
		name string
		list *[]map[string]mixin.Step
	}{{"start", &pm.Start}, {"stop", &pm.Stop}, {"restart", &pm.Restart}} {
		verb := strings.ToUpper(a.name[:1]) + a.name[1:]
		pm.CustomActions[a.name] = customAction{Description: verb + " the app", Modifies: true}
		*a.list = []map[string]mixin.Step{{mixin.Name: {Description: verb + " " + s.Title.En, Compose: mixin.StringList{ComposeFile}}}}
	}

	var manifest bytes.Buffer
	enc = yaml.NewEncoder(&manifest)
	enc.SetIndent(2)
	if err := enc.Encode(pm); err != nil {
		return nil, fmt.Errorf("write porter.yaml: %w", err)
	}
	files["porter.yaml"] = manifest.Bytes()
	files["README.md"] = readme(s, c, warnings)
	return &Bundle{Name: s.Name, Files: files}, nil
}

// oneLine returns the first line of s, at most 200 characters.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:197]) + "..."
	}
	return s
}

func readme(s *Spec, c *converted, warnings []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", s.Title.En)
	if s.Title.Zh != "" && s.Title.Zh != s.Title.En {
		fmt.Fprintf(&b, "%s\n\n", s.Title.Zh)
	}
	fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(s.Description.En))
	if s.Description.Zh != "" && s.Description.Zh != s.Description.En {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(s.Description.Zh))
	}
	fmt.Fprintf(&b, "Converted from the %s app `%s` (version %s) by `stackhub catalog import %s`.\n", storeTitle(s.Store), s.ID, s.AppVersion, s.Store)
	if s.Developer != "" {
		fmt.Fprintf(&b, "Developer: %s.", s.Developer)
		if s.Author != "" && s.Author != s.Developer {
			fmt.Fprintf(&b, " Packaged for %s by %s.", storeTitle(s.Store), s.Author)
		}
		b.WriteString("\n")
	}
	if s.Homepage != "" {
		fmt.Fprintf(&b, "Homepage: %s\n", s.Homepage)
	}
	b.WriteString("\n## Ports\n\nStackHub leases a free host port for each; `stackhub show` reports them.\n\n| name | service | container port |\n|---|---|---|\n")
	for _, p := range c.ports {
		t := fmt.Sprint(p.Target.N)
		if p.Protocol == "udp" {
			t += "/udp"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", p.Name, p.Service, t)
	}
	if len(s.Secrets) > 0 || len(s.Params) > 0 {
		b.WriteString("\n## Parameters\n\n")
		for _, sec := range s.Secrets {
			fmt.Fprintf(&b, "- `%s`: %s; generated on first install unless given, then kept (output `%s`).\n", sec.Name, sec.Description, sec.Name)
		}
		for _, p := range s.Params {
			def := "required"
			if p.Default != nil {
				def = fmt.Sprintf("default `%v`", p.Default)
			}
			fmt.Fprintf(&b, "- `%s`: %s (%s).\n", p.Name, p.Description, def)
		}
	}
	if len(s.Tips) > 0 {
		b.WriteString("\n## Before you install\n\n")
		for _, t := range s.Tips {
			fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(t.En))
			if t.Zh != "" && t.Zh != t.En {
				fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(t.Zh))
			}
		}
	}
	if len(warnings) > 0 {
		b.WriteString("\n## Differences from the original\n\n")
		for _, w := range warnings {
			fmt.Fprintf(&b, "- %s\n", w)
		}
	}
	return []byte(b.String())
}
