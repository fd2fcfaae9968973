package engine

import (
	"fmt"
	"regexp"

	"github.com/stackhub/stackhub/engine/contract"
)

// nameRE is what installation and app names may look like: lowercase
// letters, digits and dashes, starting with a letter or digit.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidateName checks an app or installation name; what says which.
func ValidateName(what, name string) error {
	if name == "" {
		return NewUserError(ErrInvalid, fmt.Sprintf("%s is required", what),
			fmt.Sprintf("pass the %s, for example \"redmine\"", what))
	}
	if !nameRE.MatchString(name) {
		shown := name
		if len(shown) > 64 {
			shown = shown[:64] + "..."
		}
		return NewUserError(ErrInvalid, fmt.Sprintf("%s %q is not valid", what, shown),
			"use 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit")
	}
	return nil
}

// InstallOptions asks for one app to be installed.
type InstallOptions struct {
	// App is the catalog app (bundle) to install.
	App string
	// Name is the installation name; empty means App.
	Name string
	// Parameters are bundle parameter values given by the user.
	Parameters map[string]string
	// Reference installs the bundle published at this OCI reference
	// instead of a catalog app (App and Name then default to its name).
	Reference string
	// Insecure allows plain HTTP and unverified TLS for Reference.
	Insecure bool
	// Archive installs from a thick bundle archive file, with no registry.
	Archive string
	// SkipPreflight installs even when the host looks too small for the
	// app (see Preflight); names and ports are checked all the same.
	SkipPreflight bool
	// AllowPrivileged is an admin's explicit consent to the bundle's
	// privileged requests (privileged containers, host network, devices,
	// the Docker socket for its apps); without it such a bundle is refused.
	AllowPrivileged bool
	// Target is where the app runs: "compose" (this Docker host) or
	// "swarm" (services of the swarm this server manages); empty means
	// the server's default (Config.DefaultTarget).
	Target string
}

// Validate checks the options and fills Name.
func (o *InstallOptions) Validate() error {
	if !contract.ValidTarget(o.Target) {
		return NewUserError(ErrInvalid, fmt.Sprintf("target %q is not a deploy target", o.Target), "use --target compose or --target swarm")
	}
	if o.Reference != "" || o.Archive != "" {
		if o.App != "" {
			return NewUserError(ErrInvalid, "pass an app, a reference or an archive, not several", "")
		}
		if o.Name != "" {
			return ValidateName("installation name", o.Name)
		}
		return nil
	}
	if err := ValidateName("appName", o.App); err != nil {
		return err
	}
	if o.Name == "" {
		o.Name = o.App
	}
	return ValidateName("installation name", o.Name)
}

// UninstallOptions asks for one installation to be removed.
type UninstallOptions struct {
	Name string
	// Purge also deletes the installation's volumes (its data).
	Purge bool
}

// Validate checks the options.
func (o *UninstallOptions) Validate() error {
	return ValidateName("appName", o.Name)
}

// UninstallOutcome is the result of uninstalling one installation as part of
// UninstallAll.
type UninstallOutcome struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}
