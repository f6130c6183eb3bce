package portal

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// Part is one part of a portal process: the node, the database, the sync, the rules, the web
// tier. Each of its steps is optional.
//
// The parts start one after another, in the order given, so that a part may use what the
// parts before it made. After a part's Start returns, its Run runs in a goroutine of its own
// until the portal stops. A Run that returns an error while the portal runs stops the whole
// portal: the first such error wins, the other parts' Runs are told to stop (their context
// ends), and the error is the portal's (Portal.Err). Once every Run has returned, the parts
// stop in reverse order, each releasing what its Start took hold of.
type Part struct {
	// Name names the part in the log.
	Name string
	// Start readies the part. When it fails it releases what it took itself: Stop is called
	// only for the parts whose Start succeeded.
	Start func(ctx context.Context) error
	// Run runs the part until ctx ends, then returns nil; an error means the part failed.
	// Returning nil before ctx ends means the part is done, and the others go on.
	Run func(ctx context.Context) error
	// Stop releases what Start took, after every part's Run has returned.
	Stop func() error
}

// parts runs a portal's parts: it owns their start order, the failure of one, and the
// shutdown of all.
type parts struct {
	log     *slog.Logger
	started []Part
	cancel  context.CancelFunc // ends the Runs' context
	wg      sync.WaitGroup

	failOnce sync.Once
	failed   chan struct{}
	failErr  error

	closeOnce sync.Once
	closeErr  error
}

// startParts starts ps in order. When one fails to start, the parts already started are
// stopped again and the error is returned.
func startParts(ctx context.Context, log *slog.Logger, ps []Part) (*parts, error) {
	rctx, cancel := context.WithCancel(ctx)
	s := &parts{log: log, cancel: cancel, failed: make(chan struct{})}
	for _, pt := range ps {
		if pt.Start != nil {
			if err := pt.Start(ctx); err != nil {
				return nil, errors.Join(err, s.close())
			}
		}
		s.started = append(s.started, pt)
		if pt.Run != nil {
			s.wg.Add(1)
			go s.run(rctx, pt)
		}
	}
	return s, nil
}

// run runs pt and raises its failure.
func (s *parts) run(ctx context.Context, pt Part) {
	defer s.wg.Done()
	// What a part says once it was told to stop is no failure of the portal.
	if err := pt.Run(ctx); err != nil && ctx.Err() == nil {
		s.fail(pt.Name, err)
	}
}

// fail records the first reason the portal cannot go on, closes failed and tells the other
// parts to stop.
func (s *parts) fail(name string, err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		s.log.Error("portal halted", "part", name, "err", err)
		close(s.failed)
		s.cancel()
	})
}

// err is why the portal halted, once failed is closed; nil before.
func (s *parts) err() error {
	select {
	case <-s.failed:
		return s.failErr
	default:
		return nil
	}
}

// close stops the Runs, waits for them, then stops the parts in reverse start order. It
// returns what the Stops said; only its first call does anything.
func (s *parts) close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		var errs []error
		for i := len(s.started) - 1; i >= 0; i-- {
			if stop := s.started[i].Stop; stop != nil {
				errs = append(errs, stop())
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
