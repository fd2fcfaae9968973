package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// OutputValue is the latest value of one output of an installation, as the
// web console and `outputs list` show it.
type OutputValue struct {
	Name      string `json:"name"`
	Type      string `json:"type,omitempty"`
	Sensitive bool   `json:"sensitive"`
	Value     string `json:"value"`
}

// Outputs lists the latest value of every output the installation's bundle
// defines; internal ones (porter-*, or marked internal) are left out.
// Callers decide whether sensitive values may be shown.
func (e *Engine) Outputs(ctx context.Context, name string) ([]OutputValue, error) {
	inst, err := e.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	outs, err := e.deps.Store.ListOutputs(ctx, inst.Namespace, inst.Name)
	if err != nil {
		return nil, fmt.Errorf("list outputs of %s: %w", name, err)
	}
	var defs map[string]FieldDef
	if inst.LastRunID != "" {
		if run, err := e.deps.Store.GetRun(ctx, inst.LastRunID); err == nil {
			defs = BundleOutputs(run.Bundle)
		}
	}
	list := []OutputValue{}
	for _, o := range outs {
		def, ok := defs[o.Name]
		if !ok || def.Internal || strings.HasPrefix(o.Name, "porter-") {
			continue
		}
		list = append(list, OutputValue{Name: o.Name, Type: def.Type, Sensitive: def.Sensitive || o.Sensitive, Value: string(o.Value)})
	}
	return list, nil
}

// ServerPoint is one sample of the host's load, kept for the last hour.
type ServerPoint struct {
	Time          time.Time `json:"time"`
	CPUPercent    float64   `json:"cpuPercent"`
	MemoryPercent float64   `json:"memoryPercent"`
	DiskPercent   float64   `json:"diskPercent"`
	Load1         float64   `json:"load1"`
}

// HostHistory is what a HostProbe that remembers its samples offers;
// engine/host implements it.
type HostHistory interface {
	History() []ServerPoint
}

// ServerHistory returns the host's samples of the last hour, oldest first;
// empty when the probe keeps none.
func (e *Engine) ServerHistory(ctx context.Context) ([]ServerPoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("server history: %w", err)
	}
	h, ok := e.deps.Host.(HostHistory)
	if !ok {
		return []ServerPoint{}, nil
	}
	return h.History(), nil
}

// PortRange returns the host ports StackHub hands out, lowest and highest.
func (e *Engine) PortRange() (lowest, highest int) { return e.cfg.PortMin, e.cfg.PortMax }
