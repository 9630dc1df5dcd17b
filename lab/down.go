package lab

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Removed counts what Down removed.
type Removed struct {
	Containers, Networks, Volumes int
}

// Total is the number of objects removed.
func (r Removed) Total() int { return r.Containers + r.Networks + r.Volumes }

// Down removes every container, network and volume labelled as belonging to
// the lab called name, whether `lab up` or compose created them. Removing a
// lab that is not there removes nothing and is not an error.
func Down(ctx context.Context, eng runtime.Engine, name string) (Removed, error) {
	var r Removed
	sel := map[string]string{topology.LabelLab: name}
	cs, err := eng.Containers(ctx, sel)
	if err != nil {
		return r, fmt.Errorf("list containers of lab %s: %w", name, err)
	}
	var (
		mu   sync.Mutex
		errs []error
		g    errgroup.Group
	)
	for _, c := range cs {
		g.Go(func() error {
			err := eng.RemoveContainer(ctx, c.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("remove container %s: %w", c.Name, err))
			} else {
				r.Containers++
			}
			return nil
		})
	}
	_ = g.Wait()
	if len(errs) > 0 {
		// A network with containers still attached cannot go either.
		return r, joinErrors(errs)
	}

	nets, err := eng.Networks(ctx)
	if err != nil {
		return r, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range nets {
		if n.Labels[topology.LabelLab] != name || n.Labels[topology.LabelManaged] != "true" {
			continue
		}
		if err := eng.RemoveNetwork(ctx, n.ID); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		r.Networks++
	}

	vols, err := eng.Volumes(ctx, sel)
	if err != nil {
		return r, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vols {
		if err := eng.RemoveVolume(ctx, v); err != nil {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v, err))
			continue
		}
		r.Volumes++
	}
	return r, joinErrors(errs)
}
