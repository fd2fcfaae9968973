package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	execmixin "github.com/stackhub/stackhub/mixin/exec"
)

const createManifest = `# This is the configuration for a Porter bundle, built and run by StackHub
# (stackhub bundle build / install) and by the porter CLI alike.
# See https://porter.sh/author-bundles for documentation on how to configure your bundle.
schemaType: Bundle
schemaVersion: 1.0.1
name: %[1]s
version: 0.1.0
description: "An example Porter configuration"

# REGISTRY is where the bundle is published: localhost:5000 for a local registry.
registry: "localhost:5000"

# Uncomment to build the bundle image from your own Dockerfile template.
# dockerfile: template.Dockerfile

mixins:
  - exec

parameters:
  - name: name
    type: string
    default: porter
    description: "Who to greet"

outputs:
  - name: greeting
    type: string
    applyTo:
      - install
      - upgrade

install:
  - exec:
      description: "Install Hello World"
      command: ./helpers.sh
      arguments:
        - install
        - "${ bundle.parameters.name }"
      outputs:
        - name: greeting
          regex: "(Hello, .*)"

upgrade:
  - exec:
      description: "World 2.0"
      command: ./helpers.sh
      arguments:
        - upgrade
        - "${ bundle.parameters.name }"
      outputs:
        - name: greeting
          regex: "(Hello, .*)"

uninstall:
  - exec:
      description: "Uninstall Hello World"
      command: ./helpers.sh
      arguments:
        - uninstall
        - "${ bundle.parameters.name }"
`

const createHelpers = `#!/usr/bin/env bash
set -euo pipefail

install() {
  echo "Hello, $1"
}

upgrade() {
  echo "Hello, $1 (upgraded)"
}

uninstall() {
  echo "Goodbye, $1"
}

# Call the requested function and pass the arguments as-is
"$@"
`

const createReadme = `# %[1]s

A Porter bundle, made with ` + "`stackhub bundle create %[1]s`" + `.

* ` + "`porter.yaml`" + `: the bundle's manifest.
* ` + "`helpers.sh`" + `: the script the exec mixin runs.
* ` + "`template.Dockerfile`" + `: a Dockerfile template, used when porter.yaml sets ` + "`dockerfile:`" + `.

Try it:

    stackhub bundle build
    stackhub bundle install --param name=you
    stackhub bundle show %[1]s
    stackhub bundle uninstall
`

const createDockerfile = `FROM debian:stable-slim

# PORTER_INIT

RUN rm -f /etc/apt/apt.conf.d/docker-clean; echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache

# PORTER_MIXINS

# Use the BUNDLE_DIR build argument to copy files into the bundle's working directory
# COPY . ${BUNDLE_DIR}
`

const createIgnore = `# Files excluded from the bundle image.
.cnab
.git
`

func newBundleCreateCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "create NAME",
		Short:   "Scaffold a new bundle folder, like porter create",
		Example: "  stackhub bundle create hello",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := engine.ValidateName("bundle", name); err != nil {
				return err
			}
			if _, err := os.Stat(name); err == nil {
				return &engine.UserError{Msg: fmt.Sprintf("%s already exists", name), Hint: "choose another name or remove it", Kind: engine.ErrConflict}
			}
			if err := os.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", name, err)
			}
			files := []struct {
				name string
				data string
				mode os.FileMode
			}{
				{"porter.yaml", fmt.Sprintf(createManifest, name), 0o644},
				{"helpers.sh", createHelpers, 0o755},
				{"README.md", fmt.Sprintf(createReadme, name), 0o644},
				{"template.Dockerfile", createDockerfile, 0o644},
				{".dockerignore", createIgnore, 0o644},
			}
			for _, fl := range files {
				if err := os.WriteFile(filepath.Join(name, fl.name), []byte(fl.data), fl.mode); err != nil {
					return fmt.Errorf("write %s: %w", fl.name, err)
				}
			}
			fmt.Fprintf(f.IO.Out, "Creating porter configuration in %s\n", name)
			return nil
		},
	}
}

// manifestSchema is the combined JSON schema of porter.yaml with the
// installed mixins' step schemas, as porter schema prints it.
func manifestSchema() (map[string]any, error) {
	mixins := map[string]map[string]any{}
	var buf bytes.Buffer
	em := execmixin.New(nil, &buf, &buf)
	if err := em.PrintSchema(); err != nil {
		return nil, fmt.Errorf("exec mixin schema: %w", err)
	}
	var execSchema map[string]any
	if err := json.Unmarshal(buf.Bytes(), &execSchema); err != nil {
		return nil, fmt.Errorf("exec mixin schema: %w", err)
	}
	mixins["exec"] = execSchema
	if s, err := stackhubMixinSchema(); err == nil {
		mixins["stackhub"] = s
	}
	return combineSchema(mixins), nil
}

func newBundleSchemaCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON schema of porter.yaml with the mixins' step schemas, like porter schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := manifestSchema()
			if err != nil {
				return err
			}
			return writeJSON(f.IO.Out, s)
		},
	}
}
