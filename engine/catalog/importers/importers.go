// Package importers turns apps of other self-hosting app stores (CasaOS,
// Runtipi, Umbrel) into StackHub bundles: a porter.yaml using the stackhub
// mixin, a docker-compose.yml, a README.md and the app's icon. It holds what
// every store shares: the app description an adapter fills (Spec), the
// compose conversion (ports to leased ports, store data folders to named
// volumes, features the mixin lacks refused with a reason), the bundle
// writer and the per-app report. One sub-package per store reads its
// format. It reads and writes files only; it never talks to Docker.
package importers

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Text is a piece of text in StackHub's two languages.
type Text struct {
	En string `yaml:"en" json:"en"`
	Zh string `yaml:"zh" json:"zh"`
}

// Spec is one store app as an adapter understood it, before the shared
// conversion.
type Spec struct {
	// Store and ID name the app where it came from; Dir is its folder.
	Store, ID, Dir string
	// Name is the bundle name (lowercase letters, digits and dashes).
	Name          string
	Title         Text
	Description   Text
	Tagline       Text
	Category      string
	Keywords      []string
	Homepage      string
	AppVersion    string
	Architectures []string
	// Icon is a file in Dir copied into the bundle; IconURL a remote icon
	// recorded when the store ships no file.
	Icon    string
	IconURL string
	// Author and Developer are credited in the README.
	Author, Developer string
	// Tips are notes shown before install (README).
	Tips []Text

	// Compose is the app's compose file as the store ships it.
	Compose []byte
	// Vars resolves the store's interpolation variables.
	Vars Vars
	// Data lists the store's data folders; binds under them become named
	// volumes.
	Data []DataRoot
	// DropLabels are label prefixes of the store's own tooling (reverse
	// proxy, store markers) removed from every service.
	DropLabels []string
	// DropNetworks are networks the store provides (its reverse proxy's);
	// services leave them and join the project's default network.
	DropNetworks []string
	// DropDNS are variables naming the store's own DNS server; dns:
	// entries that use them are removed (Docker's default DNS applies).
	DropDNS []string
	// DropServices are services the store itself supplies (Umbrel's
	// app_proxy); they are removed.
	DropServices []string
	// Aliases are extra network aliases per service: the host names the
	// store gives containers, which other services may use.
	Aliases map[string][]string
	// Main is the main service; empty: the web port's service, else the
	// first service.
	Main string
	// WebPublished picks the web port: the port entry whose published side
	// reads exactly this (after variable replacement).
	WebPublished string
	// WebTarget is the web port when the store proxies it instead of
	// publishing it (Umbrel's app_proxy).
	WebTarget *PortRef
	// Secrets are generated values the compose file reads as variables.
	Secrets []Secret
	// Params are values the user may set at install (passed as step env).
	Params []Param

	// Refuse holds reasons found by the adapter: the app is not converted.
	Refuse []string
	// Warnings and Notes go to the report (and the README).
	Warnings, Notes []string
}

// PortRef is a container port of a service.
type PortRef struct {
	Service string
	Target  int
}

// DataRoot is a folder the store keeps app data in.
type DataRoot struct {
	// Prefix is the bind source prefix after variable replacement, e.g.
	// "/DATA/AppData/syncthing".
	Prefix string
	// Label is how the report names it, e.g. "${APP_DATA_DIR}".
	Label string
	// Seed is the folder of the checkout whose files the store copies into
	// it; a bind of a shipped file cannot become a named volume.
	Seed string
	// Shared: the store shares this folder between apps; here each app
	// gets its own volume, and the report says so.
	Shared bool
}

// Secret is a generated value; the compose file reads it as ${NAME} (its
// name upper-cased).
type Secret struct {
	Name     string
	Kind     string // password (default) or hex
	Length   int
	Alphabet string
	// Description says what it is (bundle parameter and output).
	Description string
	// Show: the user needs it (a login password); README says so.
	Show bool
}

// Param is a value the user may give at install, passed to the compose
// file as the variable Env.
type Param struct {
	Name        string
	Env         string
	Type        string // string (default), integer, number or boolean
	Description string
	// Default is nil when the user must give a value.
	Default   any
	Sensitive bool
}

// Result is the outcome of importing one app.
type Result struct {
	Store string `json:"store"`
	// App is the app's ID in its store; Name the bundle name.
	App  string `json:"app"`
	Name string `json:"name,omitempty"`
	// Converted tells whether a bundle was produced; Reasons say why not.
	Converted bool     `json:"converted"`
	Reasons   []string `json:"reasons,omitempty"`
	// Warnings are differences the user should know of; Notes are
	// mechanical changes.
	Warnings []string `json:"warnings,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	// Path is where the bundle was written, when it was.
	Path   string  `json:"path,omitempty"`
	Bundle *Bundle `json:"-"`
}

// Report is what an import of one store checkout gave.
type Report struct {
	Store   string   `json:"store"`
	Source  string   `json:"source"`
	Results []Result `json:"results"`
}

// Converted counts the apps that became bundles.
func (r *Report) Converted() int {
	n := 0
	for _, res := range r.Results {
		if res.Converted {
			n++
		}
	}
	return n
}

// Sort orders the results by app ID.
func (r *Report) Sort() {
	slices.SortFunc(r.Results, func(a, b Result) int { return strings.Compare(a.App, b.App) })
}

// Print writes the report as a table plus the reasons and warnings.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tBUNDLE\tRESULT")
	for _, res := range r.Results {
		state := "converted"
		switch {
		case !res.Converted:
			state = "not converted"
		case len(res.Warnings) > 0:
			state = fmt.Sprintf("converted, %d warning(s)", len(res.Warnings))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", res.App, res.Name, state)
	}
	_ = tw.Flush()
	for _, res := range r.Results {
		for _, why := range res.Reasons {
			fmt.Fprintf(w, "%s: not converted: %s\n", res.App, why)
		}
		for _, why := range res.Warnings {
			fmt.Fprintf(w, "%s: warning: %s\n", res.App, why)
		}
	}
	fmt.Fprintf(w, "%s: %d of %d apps converted\n", r.Store, r.Converted(), len(r.Results))
}
