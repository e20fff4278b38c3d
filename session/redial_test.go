package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoff_DoublesUpToTheMaximumWithJitterInTheUpperHalf(t *testing.T) {
	lo, hi := 2*time.Second, 5*time.Minute
	for attempt, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute} {
		assert.InDelta(t, float64(want), float64(backoff(lo, hi, attempt, 0.999999999)), float64(time.Microsecond), "attempt %d, most jitter", attempt)
		assert.Equal(t, want/2, backoff(lo, hi, attempt, 0), "attempt %d, least jitter", attempt)
		mid := backoff(lo, hi, attempt, 0.5)
		assert.True(t, mid > want/2 && mid < want, "attempt %d: %v between %v and %v", attempt, mid, want/2, want)
	}
	assert.Equal(t, 5*time.Minute, backoff(lo, hi, 1000, 1), "a huge attempt count does not overflow")
}

// fakeRedial is a redialer with a fake clock, randomness and dialer.
func fakeRedial(t *testing.T) (*Session, *[]string) {
	t.Helper()
	s, err := New(testConfig("alice", nil))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	var dialed []string
	s.redial.rand = func() float64 { return 0.5 }
	s.redial.dial = func(c history.Contact) { dialed = append(dialed, c.ID) }
	s.redial.on = true
	return s, &dialed
}

func TestRedial_DialsAtOnceThenBacksOffAndStartsOverWhenConnected(t *testing.T) {
	s, dialed := fakeRedial(t)
	t0 := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	contacts := []history.Contact{{ID: "bob", Addrs: []string{"192.0.2.1:9999"}}, {ID: "nowhere"}}
	idle := func(string) bool { return false }

	next := s.redial.tick(t0, contacts, idle)
	assert.Equal(t, []string{"bob"}, *dialed, "at once; a contact without an address is never dialed")
	// 0.5 jitter: three quarters of 2 s.
	assert.Equal(t, t0.Add(1500*time.Millisecond), next)
	s.redial.tick(t0.Add(time.Second), contacts, idle)
	assert.Len(t, *dialed, 1, "not before the backoff")
	next = s.redial.tick(next, contacts, idle)
	assert.Len(t, *dialed, 2)
	assert.Equal(t, t0.Add(1500*time.Millisecond+3*time.Second), next, "doubled")
	next = s.redial.tick(next, contacts, func(string) bool { return true })
	assert.Len(t, *dialed, 2, "a contact with a link is not dialed")
	assert.True(t, next.IsZero())

	// Connected, then lost: the next try comes after the shortest backoff.
	s.redial.connected("bob", nil)
	t1 := t0.Add(time.Hour)
	s.redial.lost("bob", t1)
	assert.Equal(t, t1.Add(1500*time.Millisecond), s.redial.tick(t1, contacts, idle))
	assert.Len(t, *dialed, 2)
	s.redial.tick(t1.Add(1500*time.Millisecond), contacts, idle)
	assert.Len(t, *dialed, 3)

	// ReconnectNow and a network change make it due at once.
	s.redial.resetAll()
	s.redial.tick(t1.Add(1600*time.Millisecond), contacts, idle)
	assert.Len(t, *dialed, 4)

	// Every dial is announced with the time of the next one.
	var at []Reconnecting
	for len(at) < 4 {
		if r, ok := (<-s.Events()).(Reconnecting); ok {
			at = append(at, r)
		}
	}
	assert.Equal(t, Reconnecting{Contact: "bob", At: t0.Add(1500 * time.Millisecond), Attempt: 1}, at[0])
	assert.Equal(t, 2, at[1].Attempt)
	assert.Equal(t, 1, at[2].Attempt, "counted again from the last connection")

	// Off: nothing is dialed.
	s.SetAutoReconnect(false)
	s.redial.resetAll()
	s.redial.tick(t1.Add(time.Hour), contacts, idle)
	assert.Len(t, *dialed, 4)
}

func TestRedial_ANewLocalAddressIsTheNetworkComingBack(t *testing.T) {
	s, _ := fakeRedial(t)
	addrs := []string{"127.0.0.1"}
	s.redial.addrs = func() []string { return append([]string(nil), addrs...) }
	assert.True(t, s.redial.netChanged(), "the first poll")
	assert.False(t, s.redial.netChanged())
	addrs = nil
	assert.False(t, s.redial.netChanged(), "an address gone is no reason to dial")
	addrs = []string{"192.168.1.5"}
	assert.True(t, s.redial.netChanged())
}

func TestDedupe_ANewIDIsWrittenOnceAndResendsAreAckedAfterItIsDurable(t *testing.T) {
	var o outState
	o.init()
	box := newMemStore()
	acks := 0
	ack := func() { acks++ }

	assert.Equal(t, recvNew, o.receiving(box, "bob", "m1", ack, false), "first copy: write it")
	assert.Equal(t, recvWaiting, o.receiving(box, "bob", "m1", ack, false), "a resend while it is written")
	assert.Equal(t, recvWaiting, o.receiving(box, "bob", "m1", ack, false))
	assert.Zero(t, acks, "nothing is acked before it is durable")
	assert.Equal(t, recvNew, o.receiving(box, "carol", "m1", ack, false), "ids are per contact")

	// Durable: it is in the history, and the waiting acks go out.
	conv, err := box.BeginConversation(history.ConversationMeta{Fingerprint: "bob"})
	require.NoError(t, err)
	conv.AppendMessage(history.MessageRecord{ID: "m1", Text: "hi"}, nil)
	o.received("bob", "m1", nil)
	assert.Equal(t, 2, acks)
	assert.Equal(t, recvDuplicate, o.receiving(box, "bob", "m1", ack, false), "after a restart too: the history has it")

	// A failed write acks nothing, and the next copy is written again.
	assert.Equal(t, recvNew, o.receiving(box, "bob", "m2", ack, false))
	assert.Equal(t, recvWaiting, o.receiving(box, "bob", "m2", ack, false))
	o.received("bob", "m2", errDiskFull)
	assert.Equal(t, 2, acks)
	assert.Equal(t, recvNew, o.receiving(box, "bob", "m2", ack, false))

	// Without a history, in memory.
	mem := newMemOutbox()
	assert.Equal(t, recvNew, o.receiving(mem, "bob", "m3", ack, true))
	assert.Equal(t, recvDuplicate, o.receiving(mem, "bob", "m3", ack, true))
}

func TestDelivered_ReportedOnceThoughAckedOnTwoLinks(t *testing.T) {
	var o outState
	o.init()
	assert.True(t, o.firstDelivered("bob", "m1"))
	assert.False(t, o.firstDelivered("bob", "m1"), "the same message acked on a second link")
	assert.True(t, o.firstDelivered("carol", "m1"))
	for i := range 3 * maxQueue {
		o.firstDelivered("bob", fmt.Sprint(i))
	}
	assert.LessOrEqual(t, len(o.delivered), 2*maxQueue, "bounded")
	assert.Len(t, o.deliveredFIFO, len(o.delivered))
}

func TestRedial_APausedContactIsNotDialedUntilResumed(t *testing.T) {
	s, dialed := fakeRedial(t)
	t0 := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	contacts := []history.Contact{{ID: "bob", Addrs: []string{"192.0.2.1:9999"}}}
	idle := func(string) bool { return false }
	s.redial.tick(t0, contacts, idle)
	require.Len(t, *dialed, 1)
	s.redial.connected("bob", nil)

	assert.True(t, s.redial.pause("bob"), "a new pause")
	assert.False(t, s.redial.pause("bob"), "already paused: announced once")
	s.redial.lost("bob", t0)
	for i := range 1000 {
		if i%10 == 0 {
			s.redial.resetAll() // the network came back
			s.SetAutoReconnect(true)
		}
		assert.True(t, s.redial.tick(t0.Add(time.Duration(i)*time.Minute), contacts, idle).IsZero(), "nothing scheduled")
	}
	assert.Len(t, *dialed, 1, "paused through lost, network changes and the loop turned on again")
	assert.True(t, s.redial.isPaused("bob"))

	assert.True(t, s.redial.resume("bob"))
	assert.False(t, s.redial.resume("bob"), "not paused any more")
	s.redial.tick(t0.Add(time.Hour), contacts, idle)
	assert.Len(t, *dialed, 2, "resumed: due at once")

	s.redial.pause("bob")
	s.redial.connected("bob", nil)
	assert.False(t, s.redial.isPaused("bob"), "a link of the contact connected")
	assert.False(t, s.redial.resume("carol"), "never paused")
}
