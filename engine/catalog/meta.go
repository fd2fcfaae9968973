// Package catalog owns the app catalog's metadata, index and search: it
// reads the custom.stackhub block of a bundle's porter.yaml (docs/catalog.md),
// describes parameters and outputs for forms, and answers searches over
// every source's apps from a precomputed index. It imports only the
// manifest package: no Docker, SQL or cnab-go, and not the engine.
package catalog

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Categories is the fixed list an app's category comes from.
var Categories = []string{
	"cms", "collaboration", "devops", "database", "monitoring", "storage", "media", "communication",
	"analytics", "productivity", "security", "networking", "smart-home", "education", "business",
	"developer-tools",
}

// IsCategory reports whether c is one of Categories.
func IsCategory(c string) bool { return slices.Contains(Categories, c) }

// Text is a piece of catalog text in English and Chinese.
type Text struct {
	En string `json:"en"`
	Zh string `json:"zh"`
}

// In returns the text in lang ("zh" or anything else for English), falling
// back to the other language when that one is empty.
func (t Text) In(lang string) string {
	if lang == "zh" && t.Zh != "" || t.En == "" {
		return t.Zh
	}
	return t.En
}

// Requirements are the least resources an app needs.
type Requirements struct {
	// CPU is a number of cores (may be fractional).
	CPU      float64 `json:"cpu,omitempty"`
	MemoryMB int     `json:"memoryMB,omitempty"`
	DiskMB   int     `json:"diskMB,omitempty"`
}

// Web names an app's web entry point: a compose service and a port name.
type Web struct {
	Service string `json:"service"`
	Port    string `json:"port"`
}

// Meta is an app's catalog metadata (custom.stackhub in porter.yaml).
type Meta struct {
	Title         Text         `json:"title"`
	Description   Text         `json:"description"`
	Category      string       `json:"category,omitempty"`
	Keywords      []string     `json:"keywords,omitempty"`
	Homepage      string       `json:"homepage,omitempty"`
	AppVersion    string       `json:"appVersion,omitempty"`
	Requirements  Requirements `json:"requirements"`
	Architectures []string     `json:"architectures,omitempty"`
	// Icon is a file in the bundle folder, e.g. icon.svg.
	Icon string `json:"icon,omitempty"`
	Web  *Web   `json:"web,omitempty"`
}

// Key is the custom section's key that holds Meta.
const Key = "stackhub"

// MetaFrom reads an app's metadata from its manifest's custom section:
// custom.stackhub, or the legacy flat keys (title, description, category,
// website, appVersion) where custom.stackhub says nothing. A title falls
// back to name and a description to the manifest's description.
func MetaFrom(custom map[string]any, name, description string) Meta {
	var m Meta
	sh, _ := custom[Key].(map[string]any)
	m.Title = textOf(sh["title"])
	m.Description = textOf(sh["description"])
	m.Category = str(sh["category"])
	m.Keywords = stringList(sh["keywords"])
	m.Homepage = str(sh["homepage"])
	m.AppVersion = str(sh["appVersion"])
	m.Architectures = stringList(sh["architectures"])
	m.Icon = str(sh["icon"])
	if r, ok := sh["requirements"].(map[string]any); ok {
		m.Requirements = Requirements{CPU: float(r["cpu"]), MemoryMB: int(float(r["memoryMB"])), DiskMB: int(float(r["diskMB"]))}
	}
	if w, ok := sh["web"].(map[string]any); ok {
		m.Web = &Web{Service: str(w["service"]), Port: str(w["port"])}
	}
	// Legacy flat keys.
	legacy := func(dst *string, key string) {
		if *dst == "" {
			*dst = str(custom[key])
		}
	}
	legacyText := func(dst *Text, key string) {
		t := textOf(custom[key])
		if dst.En == "" {
			dst.En = t.En
		}
		if dst.Zh == "" {
			dst.Zh = t.Zh
		}
	}
	legacyText(&m.Title, "title")
	legacyText(&m.Description, "description")
	legacy(&m.Category, "category")
	legacy(&m.Homepage, "website")
	legacy(&m.Homepage, "homepage")
	legacy(&m.AppVersion, "appVersion")
	if m.Title.En == "" && m.Title.Zh == "" {
		m.Title.En = name
	}
	if m.Description.En == "" && m.Description.Zh == "" {
		m.Description.En = description
	}
	return m
}

// Problems lists what in m breaks the schema of docs/catalog.md; empty
// when m is complete.
func (m Meta) Problems() []string {
	var out []string
	if m.Title.En == "" || m.Title.Zh == "" {
		out = append(out, "custom.stackhub.title needs both en and zh")
	}
	if m.Description.En == "" || m.Description.Zh == "" {
		out = append(out, "custom.stackhub.description needs both en and zh")
	}
	if !IsCategory(m.Category) {
		out = append(out, fmt.Sprintf("custom.stackhub.category %q is not one of %s", m.Category, strings.Join(Categories, ", ")))
	}
	if !strings.HasPrefix(m.Homepage, "https://") && !strings.HasPrefix(m.Homepage, "http://") {
		out = append(out, "custom.stackhub.homepage must be an http(s) address")
	}
	if m.AppVersion == "" {
		out = append(out, "custom.stackhub.appVersion is required")
	}
	if m.Requirements.CPU <= 0 || m.Requirements.MemoryMB <= 0 || m.Requirements.DiskMB <= 0 {
		out = append(out, "custom.stackhub.requirements needs cpu, memoryMB and diskMB above zero")
	}
	for _, a := range m.Architectures {
		if !slices.Contains([]string{"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"}, a) {
			out = append(out, fmt.Sprintf("custom.stackhub.architectures: %q is not a Go/OCI architecture name", a))
		}
	}
	if len(m.Architectures) == 0 {
		out = append(out, "custom.stackhub.architectures lists none")
	}
	if m.Icon == "" {
		out = append(out, "custom.stackhub.icon is required")
	}
	return out
}

// textOf reads {en, zh} or a plain string (taken as English, or as Chinese
// when it holds Han characters).
func textOf(v any) Text {
	switch t := v.(type) {
	case map[string]any:
		return Text{En: str(t["en"]), Zh: str(t["zh"])}
	case string:
		for _, r := range t {
			if r >= 0x4e00 && r <= 0x9fff {
				return Text{Zh: t}
			}
		}
		return Text{En: t}
	}
	return Text{}
}

func str(v any) string {
	switch s := v.(type) {
	case nil:
		return ""
	case string:
		return s
	default:
		return fmt.Sprint(s)
	}
}

func float(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case uint64:
		return float64(n)
	case float64:
		return n
	case string:
		f, _ := strconv.ParseFloat(n, 64)
		return f
	}
	return 0
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s := str(x); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
