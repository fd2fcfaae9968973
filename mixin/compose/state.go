package compose

import (
	"context"
	"fmt"
	"maps"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine/contract"
)

// Project state. Generated secrets must outlive upgrades and, like the
// data they protect (a database initialised with a password), an uninstall
// that keeps volumes. They are kept as labels of an empty, never mounted
// volume "<project>_stackhub-state" that carries the project's compose
// label: it lives and dies with the project's data volumes (Down with
// Purge removes it). Labels are readable by anyone with access to the
// Docker socket, exactly like the containers' environment that receives
// the same values.
const (
	StateVolumeSuffix = "_stackhub-state"
	LabelState        = "sh.stackhub.state"
	LabelSecretPrefix = "sh.stackhub.secret."
)

// StateVolume returns the name of a project's state volume.
func StateVolume(project string) string { return project + StateVolumeSuffix }

// LoadSecrets returns the secrets recorded for a project (empty when none).
func LoadSecrets(ctx context.Context, d Docker, project string) (map[string]string, error) {
	labels, _, err := stateLabels(ctx, d, project)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range labels {
		if name, ok := strings.CutPrefix(k, LabelSecretPrefix); ok {
			out[name] = v
		}
	}
	return out, nil
}

func stateLabels(ctx context.Context, d Docker, project string) (map[string]string, bool, error) {
	name := StateVolume(project)
	res, err := d.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("name", name)})
	if err != nil {
		return nil, false, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range res.Items {
		if v.Name == name {
			return v.Labels, true, nil
		}
	}
	return nil, false, nil
}

// SaveSecrets records secrets for a project, replacing what was recorded.
// It reports whether it created the state volume (so that a failed
// install can remove it) and does nothing when nothing changed.
func SaveSecrets(ctx context.Context, d Docker, project, installation string, secrets map[string]string) (bool, error) {
	old, found, err := stateLabels(ctx, d, project)
	if err != nil {
		return false, err
	}
	labels := map[string]string{
		contract.LabelProject:      project,
		LabelVolume:                "stackhub-state",
		LabelVersion:               ComposeVersion,
		contract.LabelManaged:      "true",
		contract.LabelInstallation: installation,
		LabelState:                 "true",
	}
	for k, v := range secrets {
		labels[LabelSecretPrefix+k] = v
	}
	if found && maps.Equal(old, labels) {
		return false, nil
	}
	if len(secrets) == 0 && !found {
		return false, nil
	}
	name := StateVolume(project)
	if found {
		// Volume labels are immutable: replace the (never mounted) volume.
		if _, err := d.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return false, fmt.Errorf("replace state volume %s: %w", name, err)
		}
	}
	if _, err := d.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
		return false, fmt.Errorf("create state volume %s: %w", name, err)
	}
	return !found, nil
}

// RemoveState removes a project's state volume.
func RemoveState(ctx context.Context, d Docker, project string) error {
	if _, err := d.VolumeRemove(ctx, StateVolume(project), client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove state volume: %w", err)
	}
	return nil
}
