package servicetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestEngineAnswersFromFuncThenMemoryThenFails(t *testing.T) {
	ctx := t.Context()
	var zero Engine
	_, err := zero.List(ctx)
	require.ErrorIs(t, err, ErrUnexpected)
	assert.Equal(t, int32(1), zero.Calls())

	mem := NewEngine()
	inst, err := mem.Install(ctx, engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	list, err := mem.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "memory keeps what was installed")
	assert.Equal(t, inst.Name, list[0].Name)

	mem.ListFunc = func(context.Context) ([]*engine.Installation, error) { return nil, nil }
	list, err = mem.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list, "a scripted call wins over memory")
}
