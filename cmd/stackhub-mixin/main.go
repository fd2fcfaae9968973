// Command stackhub-mixin is the stackhub Porter mixin as a standalone
// binary (install it as $PORTER_HOME/mixins/stackhub/stackhub and
// runtimes/stackhub-runtime); all logic lives in package mixin.
package main

import (
	"os"

	"github.com/stackhub/stackhub/mixin"
)

func main() {
	os.Exit(mixin.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
