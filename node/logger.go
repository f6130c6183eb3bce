package node

import (
	"context"
	"fmt"
	"log/slog"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// cometLogger adapts CometBFT's logger interface to slog. CometBFT has no warn level:
// its Error records map to slog.LevelError and pass a Warn filter, Info and Debug do not.
type cometLogger struct {
	l   *slog.Logger
	min slog.Level
	// watch sees every Error record before level filtering, because some of CometBFT's
	// fatal conditions (a consensus panic, a committed block this node cannot validate)
	// are reported only as an error log line.
	watch func(msg string, keyvals []any)
	// stopping, when it reports true, demotes Error records to Info: while a node stops,
	// CometBFT logs every service it finds already stopped, or never started, as an error.
	stopping func() bool
}

var _ cmtlog.Logger = cometLogger{}

// NewCometLogger returns a CometBFT logger that writes to l, dropping records below min.
func NewCometLogger(l *slog.Logger, min slog.Level) cmtlog.Logger {
	return cometLogger{l: l, min: min}
}

// Debug implements cmtlog.Logger.
func (c cometLogger) Debug(msg string, keyvals ...any) { c.log(slog.LevelDebug, msg, keyvals) }

// Info implements cmtlog.Logger.
func (c cometLogger) Info(msg string, keyvals ...any) { c.log(slog.LevelInfo, msg, keyvals) }

// routine lists records CometBFT logs as errors that describe the ordinary life of a network:
// a gossiped tx arriving twice, a peer going away, a block-sync status request unanswered by
// peers already in consensus. They are demoted to Info so that real errors stand out.
var routine = map[string]bool{
	"Tx already received from peer": true,
	"Stopping peer for error":       true,
	"SendTimeout":                   true,
}

// Error implements cmtlog.Logger.
func (c cometLogger) Error(msg string, keyvals ...any) {
	level := slog.LevelError
	if routine[msg] || (c.stopping != nil && c.stopping()) {
		level = slog.LevelInfo
	}
	c.log(level, msg, keyvals)
	if c.watch != nil {
		c.watch(msg, keyvals)
	}
}

// With implements cmtlog.Logger.
func (c cometLogger) With(keyvals ...any) cmtlog.Logger {
	c.l = c.l.With(printable(keyvals)...)
	return c
}

func (c cometLogger) log(level slog.Level, msg string, keyvals []any) {
	// Checked before touching keyvals: CometBFT logs at debug on its hot paths.
	if level < c.min || !c.l.Enabled(context.Background(), level) {
		return
	}
	c.l.Log(context.Background(), level, msg, printable(keyvals)...)
}

// printable renders byte slices (hashes, addresses) as hex; slog would quote them raw.
func printable(keyvals []any) []any {
	out, copied := keyvals, false
	for i, v := range keyvals {
		if b, ok := v.([]byte); ok {
			if !copied {
				out, copied = append([]any(nil), keyvals...), true
			}
			out[i] = fmt.Sprintf("%X", b)
		}
	}
	return out
}
