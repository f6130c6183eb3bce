package portal

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// journal records what the parts did, in order.
type journal struct {
	mu  sync.Mutex
	got []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.got = append(j.got, s)
}

func (j *journal) events() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.got)
}

// part is a part that records its steps in j; Run waits for ctx unless fail says otherwise.
func (j *journal) part(name string, startErr error, fail <-chan error) Part {
	return Part{
		Name: name,
		Start: func(context.Context) error {
			j.add("start " + name)
			return startErr
		},
		Run: func(ctx context.Context) error {
			select {
			case err := <-fail:
				return err
			case <-ctx.Done():
				j.add("ran " + name)
				return nil
			}
		},
		Stop: func() error {
			j.add("stop " + name)
			return nil
		},
	}
}

// TestPartsStopInReverse starts three parts in order and stops them in the reverse one, once
// each Run has returned.
func TestPartsStopInReverse(t *testing.T) {
	var j journal
	ps, err := startParts(context.Background(), slog.New(slog.DiscardHandler),
		[]Part{j.part("node", nil, nil), j.part("sync", nil, nil), j.part("web", nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.close(); err != nil {
		t.Fatal(err)
	}
	got := j.events()
	want := []string{"start node", "start sync", "start web"}
	if !slices.Equal(got[:3], want) {
		t.Errorf("started %v, want %v", got[:3], want)
	}
	if !slices.Equal(got[6:], []string{"stop web", "stop sync", "stop node"}) {
		t.Errorf("stopped %v, want web, sync, node", got[6:])
	}
	if ps.err() != nil {
		t.Errorf("a clean stop reports %v", ps.err())
	}
}

// TestPartsFirstFailureStopsAll fails one part's Run: the portal reports that error, and the
// other parts are told to stop without anyone closing the portal.
func TestPartsFirstFailureStopsAll(t *testing.T) {
	var j journal
	fail := make(chan error, 1)
	ps, err := startParts(context.Background(), slog.New(slog.DiscardHandler),
		[]Part{j.part("node", nil, nil), j.part("sync", nil, fail), j.part("rules", nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("ledgersync: halted")
	fail <- boom
	select {
	case <-ps.failed:
	case <-time.After(5 * time.Second):
		t.Fatal("the failure was not raised")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(j.events()) < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := j.events()[3:]; len(got) != 2 || !slices.Contains(got, "ran node") || !slices.Contains(got, "ran rules") {
		t.Errorf("after the failure: %v, want node and rules told to stop", got)
	}
	if err := ps.close(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(ps.err(), boom) {
		t.Errorf("err %v, want %v", ps.err(), boom)
	}
}

// TestPartsStartFailure fails the second part's Start: the first is stopped again, the
// second (which cleans up after itself) and the third are not.
func TestPartsStartFailure(t *testing.T) {
	var j journal
	bad := errors.New("no database")
	_, err := startParts(context.Background(), slog.New(slog.DiscardHandler),
		[]Part{j.part("node", nil, nil), j.part("database", bad, nil), j.part("sync", nil, nil)})
	if !errors.Is(err, bad) {
		t.Fatalf("err %v, want %v", err, bad)
	}
	want := []string{"start node", "start database", "ran node", "stop node"}
	if got := j.events(); !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}
