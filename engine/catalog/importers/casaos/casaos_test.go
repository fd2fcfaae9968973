package casaos_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/catalog/importers/casaos"
	"github.com/stackhub/stackhub/engine/catalog/importers/importerstest"
)

func TestImportSamples(t *testing.T) {
	r, err := casaos.Import(t.Context(), "../../../../testdata/importers/casaos")
	require.NoError(t, err)
	importerstest.Expect(t, r, map[string]importerstest.Outcome{
		"syncthing":     {Converted: true, Warning: "shared with other apps in CasaOS"},
		"umami":         {Converted: true},
		"homeassistant": {Reason: "host networking"},
		"jellyfin":      {Reason: "host devices"},
	})
	importerstest.Golden(t, r, "testdata/golden")
}
