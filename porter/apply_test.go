package porter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/stackhub/stackhub/engine"
)

func TestApplyDecision(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := at.Add(time.Hour)
	ref := "localhost:5000/mydb:v0.1.0"
	desired := func(uninstalled bool) *DesiredInstallation {
		d := &DesiredInstallation{Name: "mydb", Uninstalled: uninstalled}
		d.Bundle.Repository, d.Bundle.Version = "localhost:5000/mydb", "0.1.0"
		return d
	}
	installed := &engine.Installation{Name: "mydb", Reference: ref, Status: engine.StatusRunning, Installed: &at, Parameters: map[string]string{"size": "big"}}
	failedUpgrade := &engine.Installation{Name: "mydb", Reference: ref, Status: engine.StatusFailed, Installed: &at}
	failedInstall := &engine.Installation{Name: "mydb", Reference: ref, Status: engine.StatusFailed}
	uninstalled := &engine.Installation{Name: "mydb", Reference: ref, Status: engine.StatusUninstalled, Installed: &at, Uninstalled: &later}
	big := map[string]string{"size": "big"}
	tests := []struct {
		name         string
		inst         *engine.Installation
		uninstalled  bool
		params       map[string]string
		force        bool
		wantAction   string
		wantDecision string
	}{
		{"absent, to uninstall", nil, true, nil, false, "", "Ignoring because installation.uninstalled is true but the installation doesn't exist yet"},
		{"absent", nil, false, big, false, "install", "The installation is out-of-sync, running the install action..."},
		{"up to date", installed, false, big, false, "", "The installation is already up-to-date."},
		{"forced", installed, false, big, true, "upgrade", "The installation is up-to-date but will be re-applied because --force was specified"},
		{"parameter changed", installed, false, map[string]string{"size": "small"}, false, "upgrade", "The installation is out-of-sync, running the upgrade action..."},
		{"parameter dropped", installed, false, nil, false, "upgrade", "The installation is out-of-sync, running the upgrade action..."},
		{"failed upgrade", failedUpgrade, false, nil, false, "upgrade", "Triggering because the installation has not completed successfully yet"},
		{"failed install", failedInstall, false, nil, false, "install", "Triggering because the installation has not completed successfully yet"},
		{"to uninstall", installed, true, big, false, "uninstall", "The installation is out-of-sync, running the uninstall action..."},
		{"already uninstalled", uninstalled, true, nil, false, "", "The installation is already up-to-date."},
		{"reinstall", uninstalled, false, nil, false, "install", "The installation is out-of-sync, running the install action..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action, decision := applyDecision(tt.inst, desired(tt.uninstalled), tt.params, tt.force)
			assert.Equal(t, tt.wantAction, action)
			assert.Equal(t, tt.wantDecision, decision)
		})
	}
	moved := desired(false)
	moved.Bundle.Version = "0.2.0"
	action, _ := applyDecision(installed, moved, big, false)
	assert.Equal(t, "upgrade", action, "a new bundle version upgrades")
}

func TestDesiredInstallationValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(d *DesiredInstallation)
		wantRef string
		wantErr string
	}{
		{"version", func(d *DesiredInstallation) { d.Bundle.Version = "v1.2.0" }, "r.example/db:v1.2.0", ""},
		{"tag", func(d *DesiredInstallation) { d.Bundle.Tag = "latest" }, "r.example/db:latest", ""},
		{"digest wins", func(d *DesiredInstallation) {
			d.Bundle.Digest, d.Bundle.Tag = "sha256:"+"a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2", "latest"
		}, "r.example/db@sha256:a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2", ""},
		{"no version", func(d *DesiredInstallation) {}, "r.example/db", "invalid installation: bundle needs a digest, version or tag"},
		{"no name", func(d *DesiredInstallation) { d.Name, d.Bundle.Tag = "", "v1" }, "", "invalid installation: name is required"},
		{"other namespace", func(d *DesiredInstallation) { d.Namespace, d.Bundle.Tag = "dev", "v1" }, "", `invalid installation: namespace is "dev"`},
		{"wrong type", func(d *DesiredInstallation) { d.SchemaType, d.Bundle.Tag = "CredentialSet", "v1" }, "", "invalid installation: schemaType"},
		{"no repository", func(d *DesiredInstallation) { d.Bundle.Repository = "" }, "", "invalid installation: bundle.repository is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &DesiredInstallation{Name: "mydb"}
			d.Bundle.Repository = "r.example/db"
			tt.edit(d)
			if tt.wantRef != "" {
				assert.Equal(t, tt.wantRef, d.Reference())
			}
			err := d.Validate("")
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.wantErr)
			}
		})
	}
}
