package compose

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// fallbackPool is where networks get their subnet once the daemon's default
// address pools are used up. Docker's defaults hold about 30 bridge
// networks, and every app has at least one, so a server with more apps than
// that would refuse installs. 10.213.0.0/16 cut into /24s gives 256 more.
var fallbackPool = netip.MustParsePrefix("10.213.0.0/16")

// poolExhausted recognises the daemon's "no address pool left" refusal.
func poolExhausted(err error) bool {
	return err != nil && strings.Contains(err.Error(), "non-overlapping IPv4 address pool")
}

// createWithFallbackSubnet creates the network on the first /24 of the
// fallback pool that no existing network uses. Another install may take the
// same subnet at the same moment: the daemon then refuses it as
// overlapping, and the next free one is tried.
func createWithFallbackSubnet(ctx context.Context, d Docker, name string, opts client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	used, err := usedSubnets(ctx, d)
	if err != nil {
		return client.NetworkCreateResult{}, err
	}
	base := fallbackPool.Addr().As4()
	var lastErr error
	for i := 0; i < 256; i++ {
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], byte(i), 0}), 24)
		if overlapsAny(subnet, used) {
			continue
		}
		o := opts
		o.IPAM = &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: subnet}}}
		res, err := d.NetworkCreate(ctx, name, o)
		if err == nil {
			return res, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "overlap") {
			return client.NetworkCreateResult{}, err
		}
		used = append(used, subnet)
	}
	return client.NetworkCreateResult{}, &UserError{
		Msg:     fmt.Sprintf("no free subnet left for network %s: %v", name, lastErr),
		HintMsg: "remove unused Docker networks (docker network prune), or add default-address-pools to /etc/docker/daemon.json",
		Err:     lastErr,
	}
}

func usedSubnets(ctx context.Context, d Docker) ([]netip.Prefix, error) {
	res, err := d.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var out []netip.Prefix
	for _, n := range res.Items {
		for _, c := range n.IPAM.Config {
			if c.Subnet.IsValid() {
				out = append(out, c.Subnet)
			}
		}
	}
	return out, nil
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, q := range list {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}
