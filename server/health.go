package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/migrations"
)

// DefaultMaxSyncLag is how far the synced block may trail the clock before /readyz says the
// portal is not ready: its pages would show a stale ledger.
const DefaultMaxSyncLag = 2 * time.Minute

// healthz says the process is up.
func (s *Server) healthz(c *gin.Context) error {
	c.String(http.StatusOK, "ok\n")
	return nil
}

// readyz says whether this replica should get traffic: the database answers, its schema is
// the binary's, and the sync is within the allowed lag. Each check's result is in the body.
func (s *Server) readyz(c *gin.Context) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	fail := func(name string, err error) {
		checks[name], ok = err.Error(), false
	}
	if err := s.db.Pool.Ping(ctx); err != nil {
		fail("database", err)
	} else {
		checks["database"] = "ok"
		if err := s.schemaCurrent(ctx); err != nil {
			fail("migrations", err)
		} else {
			checks["migrations"] = "ok"
		}
		if lag, err := s.syncLag(ctx); err != nil {
			fail("sync", err)
		} else {
			checks["sync"] = fmt.Sprintf("ok, %s behind", lag.Round(time.Second))
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
	return nil
}

// schemaCurrent fails unless every migration the binary holds is applied.
func (s *Server) schemaCurrent(ctx context.Context) error {
	st, err := migrations.Statuses(ctx, s.db.SQL())
	if err != nil {
		return err
	}
	for _, m := range st {
		if !m.Applied {
			return fmt.Errorf("migration %d (%s) not applied", m.Version, m.Name)
		}
	}
	return nil
}

// syncLag is how far the synced block's time trails the clock; too far is an error.
func (s *Server) syncLag(ctx context.Context) (time.Duration, error) {
	cur, err := s.db.Cursor(ctx)
	if err != nil {
		return 0, fmt.Errorf("no synced block: %w", err)
	}
	if cur.HaltedAt != nil {
		return 0, fmt.Errorf("the sync halted: %s", cur.HaltReason)
	}
	lag := max(s.cfg.Now().Sub(cur.BlockTime), 0)
	if max := s.cfg.MaxSyncLag; max > 0 && lag > max {
		return lag, fmt.Errorf("synced block %d is %s old, over %s", cur.Height, lag.Round(time.Second), max)
	}
	return lag, nil
}
