package compose

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poorDaemon refuses networks without a subnet (its default pools are
// used up), reports one fallback subnet as taken, and refuses another as
// overlapping (a concurrent install took it).
type poorDaemon struct {
	Docker  // only NetworkList and NetworkCreate are called
	created []netip.Prefix
}

func (d *poorDaemon) NetworkList(ctx context.Context, o client.NetworkListOptions) (client.NetworkListResult, error) {
	return client.NetworkListResult{Items: []network.Summary{{Network: network.Network{Name: "other",
		IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("10.213.0.0/24")}}}}}}}, nil
}

func (d *poorDaemon) NetworkCreate(ctx context.Context, name string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	if o.IPAM == nil || len(o.IPAM.Config) == 0 {
		return client.NetworkCreateResult{}, errors.New("Error response from daemon: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
	}
	subnet := o.IPAM.Config[0].Subnet
	if subnet == netip.MustParsePrefix("10.213.1.0/24") {
		return client.NetworkCreateResult{}, errors.New("Error response from daemon: Pool overlaps with other one on this address space")
	}
	d.created = append(d.created, subnet)
	return client.NetworkCreateResult{ID: "net-" + name}, nil
}

func TestNetworkGetsFallbackSubnetWhenPoolsAreUsedUp(t *testing.T) {
	d := &poorDaemon{}
	_, err := d.NetworkCreate(t.Context(), "p_default", client.NetworkCreateOptions{})
	require.True(t, poolExhausted(err))

	res, err := createWithFallbackSubnet(t.Context(), d, "p_default", client.NetworkCreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "net-p_default", res.ID)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.213.2.0/24")}, d.created,
		"skips the subnet in use and the one a concurrent install took")
}
