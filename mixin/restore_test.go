package mixin

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stackhub/stackhub/engine"
)

// The engine recognises an undone upgrade by this text.
func TestRestoredErrorNamesUndoneUpgrade(t *testing.T) {
	assert.Equal(t, engine.UpgradeUndone, upgradeUndone)
	cause := errors.New("container x is unhealthy")
	err := &restoredError{err: cause}
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, "container x is unhealthy; "+engine.UpgradeUndone, err.Error())
}
