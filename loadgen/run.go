package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// RunConfig configures Run.
type RunConfig struct {
	// Rate is the target rate in transactions per second.
	Rate float64
	// Duration ends the run; zero runs until the context ends.
	Duration time.Duration
	// Tick is how often tokens are added to the bucket (default 20ms): each tick generates
	// the transactions its tokens pay for, as one submission.
	Tick time.Duration
	// MaxBatch bounds the transactions generated and submitted per tick (default 2,000).
	MaxBatch int
	// LogEvery is the interval of progress logs (default 5s).
	LogEvery time.Duration
	// DrainTimeout bounds the drain after the run ends, when open settlements are confirmed
	// and started scenarios finished (default 60s); negative skips the drain.
	DrainTimeout time.Duration
	// MaxStall gives up when the node has not answered for this long (default 60s).
	MaxStall time.Duration
	// Logger receives the progress logs; nil means slog.Default().
	Logger *slog.Logger
	// Querier reads an account's nonce back after a rejection, and the committed nonces that
	// tell which held transactions may go; nil uses the submitter when it is one. Without a
	// Querier nothing is held back.
	Querier Querier
	// MaxHold bounds how long a transaction is held back for the transactions of other
	// signers it needs to be in a block, once it is the first of its signer's held ones
	// (default 30s); it is sent anyway then. Negative holds nothing back, and mends no nonce
	// gaps either: transactions go in stream order, as generated.
	MaxHold time.Duration
}

// Stats reports a run.
type Stats struct {
	// Submitted counts the transactions the node answered; Accepted those admitted to its
	// mempool; Rejected the others, by code name in ByCode.
	Submitted, Accepted, Rejected int64
	ByCode                        map[string]int64
	// Unchecked counts transactions the node did not check (an RPC error) or that were never
	// sent because the run ended first.
	Unchecked int64
	// Retries counts resubmissions after a full mempool or a failed request.
	Retries int64
	// Held counts transactions held back until the transactions of other signers they need
	// were in a block, or behind an earlier held transaction of their signer; HeldWait is
	// their total wait and HeldMaxWait the longest. HoldExpired counts those sent after
	// MaxHold without their prerequisites in a block.
	Held                  int64
	HeldWait, HeldMaxWait time.Duration
	HoldExpired           int64
	// NonceLookups counts the account queries made to see prerequisites and admitted
	// transactions in a block.
	NonceLookups int64
	// Resent counts admitted transactions sent again because their signer's committed nonce
	// stayed behind them (a nonce gap in a block proposer's mempool).
	Resent int64
	// Resyncs counts nonce resynchronisations after a rejection. Superseded counts the
	// transactions not sent because a resynchronisation took their signer's nonce back past
	// them while they waited; the generator sent them again.
	Resyncs, Superseded int64
	// TruthLines counts ground-truth lines written; TruthDropped those of transactions the
	// node did not admit.
	TruthLines, TruthDropped int64
	// Scenarios counts the scenarios started, by id.
	Scenarios map[string]int
	// Elapsed is the whole run, drain included.
	Elapsed time.Duration
	// Rate is the achieved rate of transactions answered by the node, per second, while the
	// run was paced (before the drain).
	Rate float64
}

// Defaults of RunConfig.
const (
	defaultTick         = 20 * time.Millisecond
	defaultRunBatch     = 2_000
	defaultLogEvery     = 5 * time.Second
	defaultDrainTimeout = 60 * time.Second
	defaultMaxStall     = 60 * time.Second
	maxRate             = 1_000_000
)

// Run generates traffic from gen at cfg.Rate and submits it through sub until cfg.Duration
// passes or ctx ends, then drains what is under way. Pacing is a token bucket filled every
// tick, so each tick submits one batch rather than each transaction waiting on a timer.
// Generation runs one batch ahead of submission. The ground-truth lines of admitted
// transactions are written to truth as JSON lines (nil discards them).
//
// A rejected transaction did not use its nonce, so the signer's nonce is read back from the
// ledger (the rejection's "expects N" when it says so) and the generator continues from there.
func Run(ctx context.Context, cfg RunConfig, gen *Generator, sub Submitter, truth io.Writer) (Stats, error) {
	cfg, err := cfg.withDefaults(sub)
	if err != nil {
		return Stats{}, err
	}
	if truth == nil {
		truth = io.Discard
	}
	r := newRunner(cfg, gen, sub, truth)
	// Submissions outlive ctx by the drain, which ends open settlements cleanly.
	sendCtx, stopSend := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSend()
	batches := make(chan []*Tx, 1)
	go r.produce(ctx, sendCtx, stopSend, batches)
	err = r.send(sendCtx, stopSend, batches)
	if ferr := r.truth.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("write truth: %w", ferr)
	}
	r.finish()
	return r.stats, err
}

// withDefaults checks cfg and fills in the defaults of what it leaves unset; the querier
// defaults to sub, if sub is one.
func (cfg RunConfig) withDefaults(sub Submitter) (RunConfig, error) {
	if cfg.Rate <= 0 || cfg.Rate > maxRate {
		return cfg, fmt.Errorf("loadgen run: rate %v: want more than 0, at most %d tx/s", cfg.Rate, maxRate)
	}
	if cfg.Duration < 0 {
		return cfg, fmt.Errorf("loadgen run: negative duration %v", cfg.Duration)
	}
	if cfg.Tick <= 0 {
		cfg.Tick = defaultTick
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = defaultRunBatch
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = defaultLogEvery
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = defaultDrainTimeout
	}
	if cfg.MaxStall <= 0 {
		cfg.MaxStall = defaultMaxStall
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Querier == nil {
		cfg.Querier, _ = sub.(Querier)
	}
	if cfg.MaxHold == 0 {
		cfg.MaxHold = defaultMaxHold
	}
	return cfg, nil
}

func newRunner(cfg RunConfig, gen *Generator, sub Submitter, truth io.Writer) *runner {
	r := &runner{
		cfg: cfg, gen: gen, sub: sub, log: cfg.Logger, truth: bufio.NewWriterSize(truth, 64<<10),
		stats: Stats{ByCode: map[string]int64{}}, start: time.Now(), paced: -1,
	}
	r.seq = newSequencer(cfg.Querier, cfg.MaxHold, cfg.Logger, &r.stats)
	if !r.seq.enabled() {
		r.log.Info("loadgen holds nothing back: transactions go in stream order, whatever other signers' transactions they need",
			"querier", cfg.Querier != nil, "max_hold", cfg.MaxHold)
	}
	return r
}

// send submits the batches produce hands over, with the held transactions the sequencer lets
// go, until generation has ended and what was admitted is in blocks or given up on. After
// an error it submits nothing more, and counts what it does not send as unchecked.
func (r *runner) send(sendCtx context.Context, stopSend context.CancelFunc, batches <-chan []*Tx) error {
	var err error
	lastLog, lastCount := r.start, int64(0)
	poll := time.NewTicker(holdPoll)
	defer poll.Stop()
	in := batches
	// Once generation ends, held transactions are sent by holdBy at the latest, and admitted
	// ones are watched into blocks (and sent again if their signer's nonce is stuck) until
	// settleBy.
	var holdBy, settleBy time.Time
	for {
		if at := r.drainAt.Load(); at != 0 && r.paced < 0 {
			r.paced, r.pacedFor = r.stats.Submitted, time.Unix(0, at).Sub(r.start)
		}
		var stop <-chan struct{}
		if in == nil {
			stop = sendCtx.Done()
		}
		var txs []*Tx
		select {
		case b, ok := <-in:
			if !ok {
				in = nil
				now := time.Now()
				holdBy, settleBy = now.Add(r.cfg.MaxHold), now.Add(settleWait)
				if r.cfg.DrainTimeout < 0 {
					settleBy = now
				}
				break
			}
			if err != nil {
				r.stats.Unchecked += int64(len(b))
				continue
			}
			txs = r.seq.admit(b, time.Now())
		case <-poll.C:
		case <-stop:
		}
		now := time.Now()
		if err != nil || (in == nil && (sendCtx.Err() != nil || now.After(holdBy))) {
			// Nothing more can be sent: what is held never will be.
			r.stats.Unchecked += int64(r.seq.drop())
		}
		if in == nil && r.seq.held == 0 && (len(r.seq.flights) == 0 || now.After(settleBy) || sendCtx.Err() != nil) {
			return err
		}
		txs = r.release(sendCtx, now, txs)
		if err == nil && len(txs) > 0 {
			err = r.submit(sendCtx, txs)
			if err != nil {
				stopSend()
			}
		}
		if now := time.Now(); now.Sub(lastLog) >= r.cfg.LogEvery {
			r.progress(float64(r.stats.Submitted-lastCount) / now.Sub(lastLog).Seconds())
			lastLog, lastCount = now, r.stats.Submitted
			if ferr := r.truth.Flush(); ferr != nil && err == nil {
				err = fmt.Errorf("write truth: %w", ferr)
				stopSend()
			}
		}
	}
}

// release adds to txs, when the sequencer's poll is due, the held transactions it lets go,
// and sends again those admitted whose signer's nonce is stuck.
func (r *runner) release(ctx context.Context, now time.Time, txs []*Tx) []*Tx {
	if !r.seq.due(now) {
		return txs
	}
	ready, again := r.seq.poll(ctx, now)
	// Stream order: a signer's transaction admitted above may precede those of its that the
	// poll lets go.
	txs = append(txs, ready...)
	slices.SortFunc(txs, func(a, b *Tx) int { return compareSeq(a.Seq, b.Seq) })
	r.resend(ctx, again)
	return txs
}

// progress logs the run so far; rate is the rate since the last progress log.
func (r *runner) progress(rate float64) {
	r.log.Info("loadgen progress", "submitted", r.stats.Submitted, "accepted", r.stats.Accepted,
		"rejected", r.stats.Rejected, "rate_tx_s", int64(rate), "pending_steps", r.gen.Pending(),
		"truth_lines", r.stats.TruthLines, "held_now", r.seq.held, "held", r.stats.Held,
		"held_wait_avg_ms", r.stats.avgWait().Milliseconds(), "held_wait_max_ms", r.stats.HeldMaxWait.Milliseconds(),
		"hold_expired", r.stats.HoldExpired, "nonce_lookups", r.stats.NonceLookups, "resent", r.stats.Resent)
}

// finish completes the stats of the run and logs them.
func (r *runner) finish() {
	r.stats.Elapsed = time.Since(r.start)
	if r.paced < 0 {
		r.paced, r.pacedFor = r.stats.Submitted, r.stats.Elapsed
	}
	if s := r.pacedFor.Seconds(); s > 0 {
		r.stats.Rate = float64(r.paced) / s
	}
	r.stats.Scenarios = r.gen.Started()
	r.log.Info("loadgen done", "submitted", r.stats.Submitted, "accepted", r.stats.Accepted,
		"rejected", r.stats.Rejected, "by_code", r.stats.ByCode, "rate_tx_s", int64(r.stats.Rate),
		"elapsed", r.stats.Elapsed.Round(time.Millisecond), "truth_lines", r.stats.TruthLines,
		"scenarios", r.stats.Scenarios, "held", r.stats.Held, "held_wait_avg_ms", r.stats.avgWait().Milliseconds(),
		"held_wait_max_ms", r.stats.HeldMaxWait.Milliseconds(), "hold_expired", r.stats.HoldExpired,
		"nonce_lookups", r.stats.NonceLookups, "resent", r.stats.Resent)
}

// settleWait bounds how long Run, once generation has ended, watches its admitted
// transactions into blocks.
const settleWait = 10 * time.Second

type runner struct {
	seq   *sequencer
	cfg   RunConfig
	gen   *Generator
	sub   Submitter
	log   *slog.Logger
	truth *bufio.Writer
	stats Stats
	start time.Time
	// drainAt is when pacing ended and the drain began, in unix nanoseconds.
	drainAt atomic.Int64
	// paced is the count of transactions the node had answered when the drain began, -1
	// before; pacedFor is the time from the start to then.
	paced    int64
	pacedFor time.Duration
}

// produce paces generation and hands batches to the submitter. After the run it drains the
// generator, bounded by the drain timeout, then closes batches.
func (r *runner) produce(ctx, sendCtx context.Context, stopSend context.CancelFunc, batches chan<- []*Tx) {
	defer close(batches)
	ticker := time.NewTicker(r.cfg.Tick)
	defer ticker.Stop()
	var end <-chan time.Time
	if r.cfg.Duration > 0 {
		t := time.NewTimer(r.cfg.Duration)
		defer t.Stop()
		end = t.C
	}
	done := ctx.Done()
	draining := false
	var drainUntil time.Time
	startDrain := func(why string) {
		draining, done, end = true, nil, nil
		r.drainAt.Store(time.Now().UnixNano())
		if r.cfg.DrainTimeout < 0 {
			return
		}
		r.gen.Drain()
		drainUntil = time.Now().Add(r.cfg.DrainTimeout)
		time.AfterFunc(r.cfg.DrainTimeout+5*time.Second, stopSend)
		r.log.Info("loadgen draining", "reason", why, "pending_steps", r.gen.Pending())
	}
	burst := max(r.cfg.Rate, 1)
	tokens, last := 0.0, time.Now()
	for {
		select {
		case <-done:
			startDrain("context ended")
		case <-end:
			startDrain("duration reached")
		case <-sendCtx.Done():
			return
		case <-ticker.C:
		}
		if draining && (r.cfg.DrainTimeout < 0 || r.gen.Pending() == 0 || time.Now().After(drainUntil)) {
			return
		}
		now := time.Now()
		tokens = min(tokens+r.cfg.Rate*now.Sub(last).Seconds(), burst)
		last = now
		if tokens < 1 {
			continue
		}
		txs := r.gen.Next(min(int(tokens), r.cfg.MaxBatch))
		tokens -= float64(len(txs))
		if len(txs) == 0 {
			continue
		}
		select {
		case batches <- txs:
		case <-sendCtx.Done():
			return
		}
	}
}

// submit sends one batch, resubmitting from the first transaction the node had no room for.
func (r *runner) submit(ctx context.Context, txs []*Tx) error {
	txs = r.unsuperseded(txs)
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Raw
	}
	backoff := 50 * time.Millisecond
	var stalled time.Time
	for off := 0; off < len(txs); {
		outs, err := r.sub.Submit(ctx, raws[off:])
		k := 0
		for ; k < len(outs) && !errors.Is(outs[k].Err, ErrMempoolFull); k++ {
			if err := r.handle(ctx, txs[off+k], outs[k]); err != nil {
				return err
			}
		}
		off += k
		if off == len(txs) {
			return nil
		}
		if ctx.Err() != nil {
			r.stats.Unchecked += int64(len(txs) - off)
			return nil
		}
		if k > 0 || stalled.IsZero() {
			stalled = time.Now()
		} else if time.Since(stalled) > r.cfg.MaxStall {
			r.stats.Unchecked += int64(len(txs) - off)
			if err == nil {
				err = ErrMempoolFull
			}
			return fmt.Errorf("node has taken nothing for %v: %w", r.cfg.MaxStall, err)
		}
		if err != nil {
			r.log.Warn("loadgen submit failed, retrying", "err", err, "backoff", backoff)
		}
		r.stats.Retries++
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	return nil
}

// handle records the node's answer to one transaction.
func (r *runner) handle(ctx context.Context, tx *Tx, out Outcome) error {
	if out.Err != nil {
		r.stats.Unchecked++
		r.seq.submitted(tx, false, time.Now())
		r.drop(tx, out.Err.Error())
		return nil
	}
	r.stats.Submitted++
	if out.Code == 0 {
		r.stats.Accepted++
		r.seq.submitted(tx, true, time.Now())
		for i := range tx.Labels {
			b, err := json.Marshal(&tx.Labels[i])
			if err != nil {
				return fmt.Errorf("truth line: %w", err)
			}
			b = append(b, '\n')
			if _, err := r.truth.Write(b); err != nil {
				return fmt.Errorf("write truth: %w", err)
			}
			r.stats.TruthLines++
		}
		return nil
	}
	r.stats.Rejected++
	name := fmt.Sprintf("%s:%d", out.Codespace, out.Code)
	if out.Codespace == ledger.Codespace {
		name = ledger.Code(out.Code).String()
	}
	r.stats.ByCode[name]++
	r.log.Debug("loadgen transaction refused", "tx", tx.Hash.String(), "signer", tx.Signer.String(), "nonce", tx.Nonce,
		"seq", tx.Seq, "type", tx.Type.String(), "reason", name, "log", out.Log)
	r.drop(tx, name)
	r.gen.Rejected(tx)
	// CheckTx refused it, so its nonce is still the signer's next: resynchronise.
	r.resync(ctx, tx, out)
	return nil
}

func (r *runner) drop(tx *Tx, why string) {
	if len(tx.Labels) == 0 {
		return
	}
	r.stats.TruthDropped += int64(len(tx.Labels))
	var ids []string
	for _, l := range tx.Labels {
		ids = append(ids, l.Scenario)
	}
	r.log.Warn("loadgen labelled transaction not admitted", "tx", tx.Hash.String(), "reason", why, "scenarios", ids)
}

var expectsRE = regexp.MustCompile(`expects (\d+)`)

func (r *runner) resync(ctx context.Context, tx *Tx, out Outcome) {
	if !r.gen.NeedsResync(tx.Signer, tx.Seq) {
		return
	}
	// Refused before its nonce was checked, the transaction's nonce is still the next one.
	expected := tx.Nonce
	if out.Codespace == ledger.Codespace && out.Code == uint32(ledger.CodeBadNonce) {
		expected = 0
		if m := expectsRE.FindStringSubmatch(out.Log); m != nil {
			expected, _ = strconv.ParseUint(m[1], 10, 64)
		}
		// The ledger's committed nonce; CheckTx's expectation, which counts the mempool
		// too, can only be higher.
		if r.cfg.Querier != nil {
			v, err := queryJSON[accountView](ctx, r.cfg.Querier, "/account/"+tx.Signer.String())
			if err != nil {
				r.log.Warn("loadgen nonce query failed", "account", tx.Signer.String(), "err", err)
			} else {
				expected = max(expected, v.Nonce+1)
			}
		}
	}
	if r.gen.ResyncNonce(tx.Signer, expected, tx.Nonce, tx.Seq) {
		r.stats.Resyncs++
		r.log.Debug("loadgen nonce resynchronised", "account", tx.Signer.String(), "next", expected, "rejected", tx.Nonce)
	}
}

// unsuperseded drops the transactions whose signer's nonce was resynchronised back past them
// while they were held or queued: sent now, after the transactions reusing their nonces, the
// node would admit both. The generator sends each again, as if the node had refused it.
func (r *runner) unsuperseded(txs []*Tx) []*Tx {
	if r.stats.Resyncs == 0 {
		return txs // nothing was resynchronised back
	}
	gone := r.gen.superseded(txs)
	out := txs[:0:0]
	for i, tx := range txs {
		if !gone[i] {
			out = append(out, tx)
			continue
		}
		r.stats.Superseded++
		r.gen.Rejected(tx)
	}
	return out
}

// resend sends admitted transactions again, in order, after their signer's committed nonce
// stayed behind them. The node's answers are not news: the transactions were counted when
// first admitted, and one refused now was in a block by then, or is beyond mending.
func (r *runner) resend(ctx context.Context, txs []*Tx) {
	if len(txs) == 0 {
		return
	}
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Raw
	}
	outs, err := r.sub.Submit(ctx, raws)
	r.stats.Resent += int64(len(outs))
	if err != nil {
		r.log.Warn("loadgen sending transactions again failed", "err", err, "sent", len(outs), "of", len(txs))
	}
}

func (s Stats) avgWait() time.Duration {
	if s.Held == 0 {
		return 0
	}
	return s.HeldWait / time.Duration(s.Held)
}

// ByCodeSorted lists a stats' rejections by code name, in name order, for printing.
func (s Stats) ByCodeSorted() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s.ByCode)) {
		out = append(out, fmt.Sprintf("%s=%d", k, s.ByCode[k]))
	}
	return out
}
