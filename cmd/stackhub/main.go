// Command stackhub installs self-hosted apps as Docker containers. The same
// static binary also runs inside bundle images as the runtime and the mixins;
// cli.Main picks the role from the name it was called by.
package main

import (
	"os"

	"github.com/stackhub/stackhub/cmd/stackhub/cli"
)

func main() {
	os.Exit(cli.Main())
}
