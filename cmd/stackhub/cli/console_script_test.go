package cli_test

import (
	"context"

	"github.com/stackhub/stackhub/engine"
)

// The web console's engine calls on the CLI scripts' in-memory engine:
// none of the scripts use them.

func (m *memEngine) Outputs(ctx context.Context, name string) ([]engine.OutputValue, error) {
	if _, err := m.Get(ctx, name); err != nil {
		return nil, err
	}
	return []engine.OutputValue{}, nil
}

func (m *memEngine) ServerHistory(context.Context) ([]engine.ServerPoint, error) {
	return []engine.ServerPoint{}, nil
}

func (m *memEngine) PortRange() (int, int) { return 9001, 9999 }
