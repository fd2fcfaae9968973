package runtipi_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/catalog/importers/importerstest"
	"github.com/stackhub/stackhub/engine/catalog/importers/runtipi"
)

func TestImportSamples(t *testing.T) {
	r, err := runtipi.Import(t.Context(), "../../../../testdata/importers/runtipi")
	require.NoError(t, err)
	importerstest.Expect(t, r, map[string]importerstest.Outcome{
		"uptime-kuma": {Converted: true},
		"miniflux":    {Converted: true},
		"pihole":      {Reason: "${NETWORK_INTERFACE}"},
		"homer":       {Reason: "ships with files"},
	})
	importerstest.Golden(t, r, "testdata/golden")
}
