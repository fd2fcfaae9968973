package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// builtTagRE matches the tags StackHub gives the images it builds: the
// shared runtime bases, and a local bundle's image (sh-<16 hex>) with its
// Porter name (porter-<md5>). A bundle pulled from a registry is tagged
// sh-<64 hex> and never matches: it may be the only copy.
var builtTagRE = regexp.MustCompile(`^(stackhub/runtime(-debian)?:.+|.+:sh-[0-9a-f]{16}|.+:porter-[0-9a-f]{32})$`)

// PruneResult is what PruneImages removed.
type PruneResult struct {
	Tags []string
}

// Which images of other StackHub binaries PruneImages keeps. Another
// StackHub on the same daemon (a second instance, a test run) may be using
// its images right now, so the images of the keepRuntimes most recent
// other binaries stay for pruneAge. A busy host, where many binaries come
// and go (a developer's, CI's), would still gather a few hundred MB an
// hour: images of binaries beyond those are removed once pruneMinAge old.
const (
	pruneAge     = 24 * time.Hour
	pruneMinAge  = 10 * time.Minute
	keepRuntimes = 3
)

// PruneImages removes the images earlier StackHub binaries built, a day
// old or more: runtime bases and bundle images on them (both carry
// LabelRuntime with the digest of the binary they hold). Only tags
// StackHub gave are removed, so an image that also has another tag stays;
// images a container uses stay. Bundle images are built again when next
// needed.
func (e *Engine) PruneImages(ctx context.Context) (*PruneResult, error) {
	current, err := e.binaryDigest()
	if err != nil {
		return nil, err
	}
	images, err := e.deps.Docker.ImagesWithLabel(ctx, LabelRuntime)
	if err != nil {
		return nil, err
	}
	kept := recentRuntimes(images, current)
	res := &PruneResult{}
	var errs []error
	for _, im := range images {
		rt := im.Labels[LabelRuntime]
		age := time.Since(im.Created)
		if rt == current || age < pruneMinAge || (kept[rt] && age < pruneAge) {
			continue
		}
		for _, tag := range im.Tags {
			if !builtTagRE.MatchString(tag) {
				continue
			}
			err := e.deps.Docker.RemoveImageTag(ctx, tag)
			switch {
			case errors.Is(err, ErrConflict):
				e.log.Debug("image in use, kept", "image", tag)
			case err != nil:
				errs = append(errs, err)
			default:
				res.Tags = append(res.Tags, tag)
			}
		}
	}
	if len(res.Tags) > 0 {
		e.log.Info("removed images of earlier StackHub versions", "tags", len(res.Tags), "images", strings.Join(res.Tags, " "))
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("prune images: %w", err)
	}
	return res, nil
}

// recentRuntimes names the keepRuntimes binaries, other than current,
// whose newest image is the most recent.
func recentRuntimes(images []ImageInfo, current string) map[string]bool {
	newest := map[string]time.Time{}
	for _, im := range images {
		rt := im.Labels[LabelRuntime]
		if rt == current {
			continue
		}
		if im.Created.After(newest[rt]) {
			newest[rt] = im.Created
		}
	}
	rts := make([]string, 0, len(newest))
	for rt := range newest {
		rts = append(rts, rt)
	}
	sort.Slice(rts, func(i, j int) bool { return newest[rts[i]].After(newest[rts[j]]) })
	kept := map[string]bool{}
	for _, rt := range rts[:min(keepRuntimes, len(rts))] {
		kept[rt] = true
	}
	return kept
}
