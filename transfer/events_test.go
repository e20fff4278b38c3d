package transfer

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect gathers e's events until the test ends.
func collect(t *testing.T, e *Engine) func() []Event {
	var mu sync.Mutex
	var evs []Event
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range e.Events() {
			mu.Lock()
			evs = append(evs, ev)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { e.Close(); <-done })
	return func() []Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]Event(nil), evs...)
	}
}

// states is the sequence of states of id in evs, repeats dropped.
func states(evs []Event, id string) []State {
	var out []State
	for _, ev := range evs {
		if ev.Transfer.ID == id && (len(out) == 0 || out[len(out)-1] != ev.Transfer.State) {
			out = append(out, ev.Transfer.State)
		}
	}
	return out
}

func TestEvents_EveryStateChangeIsReportedInOrder(t *testing.T) {
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir())
	evA, evB := collect(t, a), collect(t, b)
	connect(t, a, b)
	start := time.Now()
	outID, inID, _ := offerAndAccept(t, a, b, 8<<20)
	waitState(t, b, alice, inID, StateDone)
	waitState(t, a, bob, outID, StateDone)
	elapsed := time.Since(start)

	require.Eventually(t, func() bool { return len(states(evA(), outID)) == 4 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, []State{StatePreparing, StateWaiting, StateTransferring, StateDone}, states(evA(), outID))
	require.Eventually(t, func() bool { return len(states(evB(), inID)) == 4 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, []State{StateWaiting, StateTransferring, StateVerifying, StateDone}, states(evB(), inID))

	// Progress: a few a second at most, and never going back.
	var n int
	var last int64
	for _, ev := range evB() {
		if ev.Transfer.ID != inID {
			continue
		}
		n++
		assert.GreaterOrEqual(t, ev.Transfer.Bytes, last)
		last = ev.Transfer.Bytes
		assert.True(t, ev.Transfer.Connected)
	}
	assert.LessOrEqual(t, n, 4+1+int(elapsed/progressEvery)+1, "%d events in %v", n, elapsed)
	last = 0
	for _, ev := range evA() {
		if ev.Transfer.ID == outID {
			assert.GreaterOrEqual(t, ev.Transfer.Bytes, last)
			last = ev.Transfer.Bytes
		}
	}
}

func TestEvents_DisconnectIsReported(t *testing.T) {
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir())
	evB := collect(t, b)
	c := connect(t, a, b)
	dropProgress(c)
	_, inID, _ := offerAndAccept(t, a, b, 8<<20)
	halfWay(t, c, inID)
	// The transfer stalls (alice waits for a Progress that never comes):
	// the last event shows the last figure.
	require.Eventually(t, func() bool {
		tr, _ := b.Get(alice, inID)
		var last Transfer
		for _, ev := range evB() {
			if ev.Transfer.ID == inID {
				last = ev.Transfer
			}
		}
		return last.Bytes == tr.Bytes
	}, 5*time.Second, 10*time.Millisecond)
	c.cut()
	require.Eventually(t, func() bool {
		evs := evB()
		last := evs[len(evs)-1].Transfer
		return last.ID == inID && !last.Connected && last.State == StateTransferring
	}, 5*time.Second, 5*time.Millisecond)
}

func TestRate_OverTheLastSeconds(t *testing.T) {
	var m rateMeter
	t0 := time.Unix(1000, 0)
	assert.Zero(t, m.rate(t0))
	for i := 0; i <= 10; i++ {
		m.add(t0.Add(time.Duration(i)*time.Second), int64(i)*1000)
	}
	now := t0.Add(10 * time.Second)
	assert.InDelta(t, 1000, m.rate(now), 1)
	tr := Transfer{State: StateTransferring, Size: 20000, Bytes: 10000, Rate: m.rate(now)}
	assert.InDelta(t, 10*time.Second, tr.Remaining(), float64(50*time.Millisecond))
	assert.Zero(t, m.rate(now.Add(time.Minute)), "a stalled transfer has no speed")
}
