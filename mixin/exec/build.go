package exec

import "fmt"

// Build prints the Dockerfile lines the mixin needs in the bundle image. The
// exec mixin needs nothing; its stdin (the build input) is accepted and
// ignored.
func (m *Mixin) Build() error {
	_, err := fmt.Fprintln(m.Out, "# exec mixin has no buildtime dependencies")
	return err
}
