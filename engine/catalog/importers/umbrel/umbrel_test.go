package umbrel_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/catalog/importers/importerstest"
	"github.com/stackhub/stackhub/engine/catalog/importers/umbrel"
)

func TestImportSamples(t *testing.T) {
	r, err := umbrel.Import(t.Context(), "../../../../testdata/importers/umbrel")
	require.NoError(t, err)
	importerstest.Expect(t, r, map[string]importerstest.Outcome{
		"uptime-kuma":    {Converted: true, Warning: "Umbrel puts its own sign-in"},
		"nextcloud":      {Converted: true},
		"mempool":        {Reason: "depends on the Umbrel apps bitcoin, electrs"},
		"home-assistant": {Reason: "host networking"},
	})
	importerstest.Golden(t, r, "testdata/golden")
}
