package server

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/store"
)

// syncStatus is where the sync and the rules stand, for the status page and the API.
type syncStatus struct {
	ChainID      string     `json:"chain_id"`
	SyncedHeight int64      `json:"synced_height"`
	SyncedHash   string     `json:"synced_block_hash"`
	SyncedTime   time.Time  `json:"synced_block_time"`
	LagSeconds   float64    `json:"lag_seconds"`
	Halted       bool       `json:"halted"`
	HaltReason   string     `json:"halt_reason,omitempty"`
	HaltedAt     *time.Time `json:"halted_at,omitempty"`
	RulesHeight  int64      `json:"rules_height"`
	RulesTime    time.Time  `json:"rules_block_time"`
	RuleSet      int32      `json:"rule_set_version"`
}

// readStatus reads the cursors of the sync and the rules.
func (s *Server) readStatus(ctx context.Context) (syncStatus, error) {
	var st syncStatus
	cur, err := s.db.Cursor(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.ChainID, st.SyncedHeight, st.SyncedTime = cur.ChainID, cur.Height, cur.BlockTime
	st.SyncedHash = strings.ToUpper(hex.EncodeToString(cur.Hash))
	st.LagSeconds = max(s.cfg.Now().Sub(cur.BlockTime), 0).Seconds()
	if cur.HaltedAt != nil {
		st.Halted, st.HaltReason, st.HaltedAt = true, cur.HaltReason, cur.HaltedAt
	}
	rc, err := s.db.GetComplianceCursor(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return st, err
	}
	if rc != nil {
		st.RulesHeight, st.RulesTime, st.RuleSet = rc.Height, rc.BlockTime, rc.SetVersion
	}
	return st, nil
}

// statusView is the status page.
type statusView struct {
	Base
	S syncStatus
}

// statusPage shows where the sync and the rules stand.
func (s *Server) statusPage(c *gin.Context) error {
	st, err := s.readStatus(c.Request.Context())
	if err != nil {
		return err
	}
	s.render(c, http.StatusOK, "status.html", statusView{Base: s.base(c, "status.title"), S: st})
	return nil
}

// apiStatus is the status as JSON.
func (s *Server) apiStatus(c *gin.Context) error {
	st, err := s.readStatus(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}
