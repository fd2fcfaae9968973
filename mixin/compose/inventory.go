package compose

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine/contract"
)

// PublishedPorts returns every host port that a container publishes, or
// will publish once started, whether it runs or not, plus the ports other
// installs reserved (see Reserve), mapped to a description of the holder.
// Containers and reservations of the project named exclude are skipped (an
// upgrade may reuse its own ports). A port counts for every protocol.
func PublishedPorts(ctx context.Context, d Docker, exclude string) (map[int]string, error) {
	used, err := reservedPorts(ctx, d, exclude)
	if err != nil {
		return nil, err
	}
	res, err := d.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range res.Items {
		if exclude != "" && c.Labels[contract.LabelProject] == exclude {
			continue
		}
		name := c.ID[:min(12, len(c.ID))]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		holder := fmt.Sprintf("container %s", name)
		if inst := c.Labels[contract.LabelInstallation]; inst != "" {
			holder += fmt.Sprintf(" (installation %s)", inst)
		}
		for _, p := range LabelPorts(c.Labels) {
			used[p] = holder
		}
		if c.State == container.StateRunning {
			for _, p := range c.Ports {
				if p.PublicPort != 0 {
					used[int(p.PublicPort)] = holder
				}
			}
			continue
		}
		// Created, exited and paused containers keep their bindings in
		// their host config and claim them again when started.
		ins, err := d.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("inspect container %s: %w", name, err)
		}
		if ins.Container.HostConfig == nil {
			continue
		}
		for _, bindings := range ins.Container.HostConfig.PortBindings {
			for _, b := range bindings {
				lo, hi := parseRange(b.HostPort)
				for p := lo; p > 0 && p <= hi; p++ {
					used[p] = holder
				}
			}
		}
	}
	return used, nil
}

func parseRange(s string) (int, int) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0
	}
	if !isRange {
		return lo, lo
	}
	hi, err := strconv.Atoi(b)
	if err != nil || hi < lo || hi-lo > 1000 {
		return lo, lo
	}
	return lo, hi
}

// Port lock and reservations. Port assignment without StackHub's engine
// must be atomic across every install on the host, and installs run in
// separate invocation containers that share nothing but the Docker daemon.
//
// The daemon reserves container names atomically, so the lock is a
// container named LockName: creating it takes the lock (a concurrent
// create fails with a name conflict), removing it releases it. It is only
// created, never started, so it costs nothing and holds no port. A holder
// that died is detected by the expiry time in its labels.
//
// Under the lock an install reads every port in use (containers, running
// or not, and reservations), picks its ports and records them as a
// reservation: an empty volume "<project>_stackhub-ports" whose labels
// name the ports. Then it releases the lock, so the lock is held only for
// a few list calls, not for creating networks and containers. Once its
// containers exist (and so publish the ports) it removes the reservation.
// A reservation older than ReservationTTL is ignored and removed, in case
// its install died.
const (
	LockName     = "stackhub-port-lock"
	LabelLock    = "sh.stackhub.lock"
	LabelLockFor = "sh.stackhub.lock.owner"
	LabelLockExp = "sh.stackhub.lock.expires"
	// LockTTL bounds how long a lock may be held before others break it.
	LockTTL = 2 * time.Minute
)

// LockPorts takes the daemon-wide port lock for owner and returns the
// function that releases it. image must be present locally; the lock
// container is created from it but never started. It waits while another
// install holds the lock, and breaks a lock older than LockTTL.
func LockPorts(ctx context.Context, d Docker, image, owner string, out io.Writer) (func(), error) {
	announced := false
	for {
		exp := time.Now().Add(LockTTL).Unix()
		res, err := d.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name: LockName,
			Config: &container.Config{
				Image:      image,
				Entrypoint: []string{"/stackhub-port-lock"},
				Labels: map[string]string{
					LabelLock:             "ports",
					LabelLockFor:          owner,
					LabelLockExp:          strconv.FormatInt(exp, 10),
					contract.LabelManaged: "true",
				},
			},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err == nil {
			id := res.ID
			return func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				_, _ = d.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
			}, nil
		}
		if !cerrdefs.IsConflict(err) {
			return nil, fmt.Errorf("take the port lock (create container %s): %w", LockName, err)
		}
		ins, ierr := d.ContainerInspect(ctx, LockName, client.ContainerInspectOptions{})
		if ierr == nil && ins.Container.Config != nil {
			held := ins.Container.Config.Labels
			if !announced {
				fmt.Fprintf(out, "Waiting for the port lock (held by %s)\n", held[LabelLockFor])
				announced = true
			}
			if e, perr := strconv.ParseInt(held[LabelLockExp], 10, 64); perr == nil && time.Now().Unix() > e {
				fmt.Fprintf(out, "Breaking the stale port lock of %s\n", held[LabelLockFor])
				_, _ = d.ContainerRemove(ctx, ins.Container.ID, client.ContainerRemoveOptions{Force: true})
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the port lock: %w", ctx.Err())
		case <-time.After(time.Duration(20+rand.IntN(80)) * time.Millisecond):
		}
	}
}

// Reservation labels and lifetime.
const (
	LabelReservation    = "sh.stackhub.reservation"
	ReservationSuffix   = "_stackhub-ports"
	ReservationTTL      = 10 * time.Minute
	labelReservationExp = "sh.stackhub.reservation.expires"
)

// Reserve records ports as reserved by project until release is called
// (or ReservationTTL passes). Call it while holding the port lock.
func Reserve(ctx context.Context, d Docker, project, installation string, ports map[string]int) (func(), error) {
	name := project + ReservationSuffix
	labels := map[string]string{
		LabelReservation:           "true",
		labelReservationExp:        strconv.FormatInt(time.Now().Add(ReservationTTL).Unix(), 10),
		contract.LabelProject:      project,
		contract.LabelManaged:      "true",
		contract.LabelInstallation: installation,
	}
	for n, p := range ports {
		labels[contract.LabelPortPrefix+n] = strconv.Itoa(p)
	}
	// A leftover of an earlier, failed run of the same project goes first.
	if _, err := d.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("replace port reservation %s: %w", name, err)
	}
	if _, err := d.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
		return nil, fmt.Errorf("reserve ports (create volume %s): %w", name, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = d.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
	}, nil
}

// reservedPorts lists live reservations of other projects; expired ones
// are removed.
func reservedPorts(ctx context.Context, d Docker, exclude string) (map[int]string, error) {
	res, err := d.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("label", LabelReservation+"=true")})
	if err != nil {
		return nil, fmt.Errorf("list port reservations: %w", err)
	}
	used := map[int]string{}
	now := time.Now().Unix()
	for _, v := range res.Items {
		if v.Labels[contract.LabelProject] == exclude {
			continue
		}
		if exp, err := strconv.ParseInt(v.Labels[labelReservationExp], 10, 64); err != nil || now > exp {
			_, _ = d.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
			continue
		}
		for _, p := range LabelPorts(v.Labels) {
			used[p] = fmt.Sprintf("an install in progress (installation %s)", v.Labels[contract.LabelInstallation])
		}
	}
	return used, nil
}
