package transfer

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/filexfer"
)

// fakeLink is a partner played by hand: what the engine sends is kept,
// and taken out by expect.
type fakeLink struct {
	mu   sync.Mutex
	msgs []filexfer.Message
}

func newFakeLink() *fakeLink                         { return &fakeLink{} }
func (f *fakeLink) Send(m filexfer.Message) error    { f.put(m); return nil }
func (f *fakeLink) SendChunk(c filexfer.Chunk) error { f.put(c); return nil }

func (f *fakeLink) put(m filexfer.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, m)
}

// take removes and returns the first message that ok accepts.
func (f *fakeLink) take(ok func(filexfer.Message) bool) filexfer.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, m := range f.msgs {
		if ok(m) {
			f.msgs = append(f.msgs[:i], f.msgs[i+1:]...)
			return m
		}
	}
	return nil
}

// expect returns the first message of type T about id that the engine
// sent, leaving the others.
func expect[T filexfer.Message](t *testing.T, f *fakeLink, id filexfer.ID) T {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := f.take(func(m filexfer.Message) bool {
			_, ok := m.(T)
			return ok && m.Transfer() == id
		})
		if m != nil {
			return m.(T)
		}
		if time.Now().After(deadline) {
			var zero T
			require.FailNowf(t, "timed out", "no %T for %s", zero, id)
		}
		time.Sleep(time.Millisecond)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func offerOf(data []byte, name string) filexfer.Offer {
	return filexfer.Offer{ID: filexfer.NewID(), Size: uint64(len(data)), SHA256: sum(data), MediaType: "application/octet-stream", Name: name}
}

// sendAll sends data's chunks as a sender would (the file is under a
// window).
func sendAll(e *Engine, l Link, id filexfer.ID, data []byte) {
	for off := 0; off < len(data); off += filexfer.ChunkSize {
		e.Handle(alice, l, filexfer.Chunk{ID: id, Offset: uint64(off), Data: data[off:min(off+filexfer.ChunkSize, len(data))]})
	}
}

func TestEngine_HashLieIsDiscardedWithAClearError(t *testing.T) {
	dirB := t.TempDir()
	b := openEngine(t, dirB)
	l := newFakeLink()
	b.Connected(alice, l)
	data := randomBytes(100000)
	o := offerOf(data, "lie.bin")
	o.SHA256 = sum([]byte("something else"))

	b.Handle(alice, l, o)
	id := incomingID(o.ID)
	waitState(t, b, alice, id, StateWaiting)
	require.NoError(t, b.Accept(alice, id))
	acc := expect[filexfer.Accept](t, l, o.ID)
	assert.Equal(t, uint64(0), acc.Offset)
	sendAll(b, l, o.ID, data)

	dec := expect[filexfer.Decline](t, l, o.ID)
	assert.Equal(t, filexfer.CodeHashMismatch, dec.Code)
	tr := waitState(t, b, alice, id, StateFailed)
	require.ErrorIs(t, tr.Err, filexfer.ErrHashMismatch)
	assert.Contains(t, tr.Err.Error(), "not the one offered")
	assert.Empty(t, storeFiles(t, dirB), "nothing kept")
	_, err := b.Open(alice, id)
	assert.ErrorIs(t, err, ErrNotReady)
}

func TestEngine_ProtocolViolationEndsOnlyThatTransfer(t *testing.T) {
	b := openEngine(t, t.TempDir())
	l := newFakeLink()
	b.Connected(alice, l)
	early, good, past := randomBytes(5000), randomBytes(2*filexfer.ChunkSize+10), randomBytes(1000)
	oEarly, oGood, oPast := offerOf(early, "early.bin"), offerOf(good, "good.bin"), offerOf(past, "past.bin")
	for _, o := range []filexfer.Offer{oEarly, oGood, oPast} {
		b.Handle(alice, l, o)
		waitState(t, b, alice, incomingID(o.ID), StateWaiting)
	}
	require.NoError(t, b.Accept(alice, incomingID(oGood.ID)))
	require.NoError(t, b.Accept(alice, incomingID(oPast.ID)))
	expect[filexfer.Accept](t, l, oGood.ID)
	expect[filexfer.Accept](t, l, oPast.ID)

	// A chunk before the Accept.
	b.Handle(alice, l, filexfer.Chunk{ID: oEarly.ID, Offset: 0, Data: early})
	assert.Equal(t, filexfer.CodeProtocol, expect[filexfer.Decline](t, l, oEarly.ID).Code)
	tr := waitState(t, b, alice, incomingID(oEarly.ID), StateFailed)
	assert.ErrorIs(t, tr.Err, filexfer.ErrProtocol)
	assert.ErrorIs(t, tr.Err, filexfer.ErrNotAccepted)

	// A chunk past the size.
	b.Handle(alice, l, filexfer.Chunk{ID: oPast.ID, Offset: 0, Data: randomBytes(1001)})
	assert.Equal(t, filexfer.CodeProtocol, expect[filexfer.Decline](t, l, oPast.ID).Code)
	tr = waitState(t, b, alice, incomingID(oPast.ID), StateFailed)
	assert.ErrorIs(t, tr.Err, filexfer.ErrPastEnd)

	// A chunk for a transfer that does not exist.
	unknown := filexfer.NewID()
	b.Handle(alice, l, filexfer.Chunk{ID: unknown, Offset: 0, Data: []byte("x")})
	assert.Equal(t, filexfer.CodeProtocol, expect[filexfer.Decline](t, l, unknown).Code)
	_, found := b.Get(alice, incomingID(unknown))
	assert.False(t, found)

	// The good one keeps going.
	sendAll(b, l, oGood.ID, good)
	expect[filexfer.Done](t, l, oGood.ID)
	waitState(t, b, alice, incomingID(oGood.ID), StateDone)
	assert.Equal(t, good, contents(t, b, alice, incomingID(oGood.ID)))
	assert.Len(t, b.List(alice), 3)
}

func TestEngine_ProgressForAnUnknownIDIsCancelledAndNothingElseChanges(t *testing.T) {
	a := openEngine(t, t.TempDir())
	l := newFakeLink()
	a.Connected(bob, l)
	path, data := randomFile(t, t.TempDir(), "keep.bin", 3*filexfer.ChunkSize)
	sent, err := a.SendFile(bob, path)
	require.NoError(t, err)
	offer := expect[filexfer.Offer](t, l, [16]byte(mustHex(t, sent.ID[2:])))

	unknown := filexfer.NewID()
	a.Handle(bob, l, filexfer.Progress{ID: unknown, Durable: 0})
	assert.Equal(t, filexfer.CodeProtocol, expect[filexfer.Cancel](t, l, unknown).Code)
	a.Handle(bob, l, filexfer.Accept{ID: filexfer.NewID()})
	tr, _ := a.Get(bob, sent.ID)
	assert.Equal(t, StateWaiting, tr.State)

	// The real one still works.
	a.Handle(bob, l, filexfer.Accept{ID: offer.ID})
	var got []byte
	for len(got) < len(data) {
		got = append(got, expect[filexfer.Chunk](t, l, offer.ID).Data...)
	}
	assert.Equal(t, data, got)
	a.Handle(bob, l, filexfer.Progress{ID: offer.ID, Durable: offer.Size})
	a.Handle(bob, l, filexfer.Done{ID: offer.ID})
	waitState(t, a, bob, sent.ID, StateDone)

	// A second Accept on one connection breaks the rules: that transfer
	// is over already, so it changes nothing.
	a.Handle(bob, l, filexfer.Accept{ID: offer.ID})
	tr, _ = a.Get(bob, sent.ID)
	assert.Equal(t, StateDone, tr.State)
}

func TestEngine_OfferedNamesAreShownCleaned(t *testing.T) {
	b := openEngine(t, t.TempDir())
	l := newFakeLink()
	b.Connected(alice, l)
	for _, name := range []string{"../../etc/passwd", `dir\sub/evil.exe`, "bad\x01name\x7f\u202e.txt", "CON.txt", "lpt1", "  .hidden. "} {
		t.Run(name, func(t *testing.T) {
			o := offerOf([]byte("x"), name)
			b.Handle(alice, l, o)
			tr := waitState(t, b, alice, incomingID(o.ID), StateWaiting)
			want, err := filexfer.SafeName(name)
			require.NoError(t, err)
			assert.Equal(t, want, tr.Name)
			assert.NotContains(t, tr.Name, "/")
			assert.NotContains(t, tr.Name, `\`)
			assert.NotContains(t, tr.Name, "..")
			assert.False(t, strings.ContainsFunc(tr.Name, unicode.IsControl))
			assert.NotEqual(t, "CON.txt", tr.Name)
		})
	}
	for _, name := range []string{"..", "   ", ".", " . . "} {
		t.Run("unusable "+name, func(t *testing.T) {
			o := offerOf([]byte("x"), name)
			b.Handle(alice, l, o)
			assert.Equal(t, filexfer.CodeUnusableName, expect[filexfer.Decline](t, l, o.ID).Code)
			_, found := b.Get(alice, incomingID(o.ID))
			assert.False(t, found)
		})
	}
}

func TestEngine_SendFileRefusesWhatCannotBeSent(t *testing.T) {
	a := openEngine(t, t.TempDir())
	dir := t.TempDir()
	_, err := a.SendFile(bob, filepath.Join(dir, "missing.txt"))
	assert.ErrorContains(t, err, "does not exist")
	_, err = a.SendFile(bob, dir)
	assert.ErrorContains(t, err, "is a folder")
	empty := filepath.Join(dir, "empty.txt")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, err = a.SendFile(bob, empty)
	assert.ErrorIs(t, err, filexfer.ErrEmptyFile)
	huge := filepath.Join(dir, "huge.iso")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(filexfer.MaxSize+1)) // sparse
	require.NoError(t, f.Close())
	_, err = a.SendFile(bob, huge)
	assert.ErrorIs(t, err, filexfer.ErrTooLarge)
	assert.Empty(t, a.List(""), "nothing was started")

	// A reader is read later: an empty one fails the transfer.
	tr, err := a.SendReader(bob, "paste.png", "image/png", strings.NewReader(""))
	require.NoError(t, err)
	got := waitState(t, a, bob, tr.ID, StateFailed)
	assert.ErrorIs(t, got.Err, filexfer.ErrEmptyFile)
	_, err = a.SendReader(bob, "", "", strings.NewReader("x"))
	assert.Error(t, err)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestEngine_MessagesFromAnOldLinkAreDropped(t *testing.T) {
	b := openEngine(t, t.TempDir())
	old, cur := newFakeLink(), newFakeLink()
	b.Connected(alice, old)
	b.Connected(alice, cur)
	o := offerOf([]byte("x"), "x.txt")
	b.Handle(alice, old, o)
	b.Handle(bob, cur, o) // not bob's link either
	assert.Empty(t, b.List(""))
	b.Handle(alice, cur, o)
	waitState(t, b, alice, incomingID(o.ID), StateWaiting)
	b.Disconnected(alice, cur)
	b.Handle(alice, cur, filexfer.Cancel{ID: o.ID, Code: filexfer.CodeCancelled})
	tr, _ := b.Get(alice, incomingID(o.ID))
	assert.Equal(t, StateWaiting, tr.State)
	assert.False(t, tr.Connected)
}

func TestEngine_AnEndingDecidedOfflineIsSentAtTheNextConnection(t *testing.T) {
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir())
	c := connect(t, a, b)
	path, _ := randomFile(t, t.TempDir(), "a.bin", 100)
	s1, err := a.SendFile(bob, path)
	require.NoError(t, err)
	s2, err := a.SendFile(bob, path)
	require.NoError(t, err)
	waitState(t, b, alice, theirs(s1.ID), StateWaiting)
	waitState(t, b, alice, theirs(s2.ID), StateWaiting)
	c.cut()
	require.NoError(t, b.Decline(alice, theirs(s1.ID)))
	require.NoError(t, a.Cancel(bob, s2.ID))
	connect(t, a, b)
	got := waitState(t, a, bob, s1.ID, StateFailed)
	assert.ErrorIs(t, got.Err, filexfer.ErrDeclined)
	got = waitState(t, b, alice, theirs(s2.ID), StateFailed)
	assert.ErrorIs(t, got.Err, filexfer.ErrCancelled)
}

func TestEngine_TheSessionNeverWaitsForAWorker(t *testing.T) {
	release := make(chan struct{})
	b := openEngine(t, t.TempDir(), func(o *Options) {
		o.AutoAccept = func(tr Transfer) bool {
			if tr.Name == "slow.bin" {
				<-release // the worker of this transfer is busy
			}
			return false
		}
	})
	l := newFakeLink()
	b.Connected(alice, l)
	slow, other := offerOf([]byte("a"), "slow.bin"), offerOf([]byte("b"), "other.bin")
	b.Handle(alice, l, slow)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		b.Handle(alice, l, slow) // its offer again
		b.Handle(alice, l, other)
		b.Handle(alice, l, filexfer.Chunk{ID: slow.ID, Data: []byte("a")}) // before the accept: ends it
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Handle waited for a busy worker")
	}
	assert.Equal(t, filexfer.CodeProtocol, expect[filexfer.Decline](t, l, slow.ID).Code)
	waitState(t, b, alice, incomingID(other.ID), StateWaiting)
	close(release)
}

func TestEngine_AFloodOfOffersLeavesAtMost32WaitingAndTheRestAreDeclinedBusy(t *testing.T) {
	dirB := t.TempDir()
	b := openEngine(t, dirB)
	l := newFakeLink()
	b.Connected(alice, l)
	var offers []filexfer.Offer
	for i := range 1000 {
		o := offerOf([]byte{byte(i)}, "flood.txt")
		offers = append(offers, o)
		b.Handle(alice, l, o)
	}
	for _, o := range offers[filexfer.MaxWaitingOffers:] {
		dec := expect[filexfer.Decline](t, l, o.ID)
		assert.Equal(t, filexfer.CodeBusy, dec.Code)
	}
	ts := b.List(alice)
	require.Len(t, ts, filexfer.MaxWaitingOffers, "only the first 32 are kept and shown")
	for _, tr := range ts {
		assert.Equal(t, StateWaiting, tr.State)
	}
	require.Eventually(t, func() bool { return len(recordFiles(t, dirB)) == filexfer.MaxWaitingOffers }, 10*time.Second, time.Millisecond,
		"the journal holds 32 records")

	// A repeat of a kept offer (after a reconnect) is not a new one.
	l2 := newFakeLink()
	b.Disconnected(alice, l)
	b.Connected(alice, l2)
	b.Handle(alice, l2, offers[0])
	assert.Nil(t, l2.take(func(m filexfer.Message) bool { _, ok := m.(filexfer.Decline); return ok }))

	// Once our user answers one, a new offer waits again.
	require.NoError(t, b.Decline(alice, incomingID(offers[1].ID)))
	waitState(t, b, alice, incomingID(offers[1].ID), StateFailed)
	next := offerOf([]byte("after an answer"), "next.txt")
	b.Handle(alice, l2, next)
	waitState(t, b, alice, incomingID(next.ID), StateWaiting)
	another := offerOf([]byte("one too many"), "more.txt")
	b.Handle(alice, l2, another)
	assert.Equal(t, filexfer.CodeBusy, expect[filexfer.Decline](t, l2, another.ID).Code)
	_, ok := b.Get(alice, incomingID(another.ID))
	assert.False(t, ok)

	// Our own offers to the same contact are not limited by theirs.
	path, _ := randomFile(t, t.TempDir(), "mine.bin", 1000)
	_, err := b.SendFile(alice, path)
	require.NoError(t, err)
}

func TestEngine_OffersWithdrawnBeforeAnAnswerCountFor10Minutes(t *testing.T) {
	dirB := t.TempDir()
	var mu sync.Mutex
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	b := openEngine(t, dirB, func(o *Options) {
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	l := newFakeLink()
	b.Connected(alice, l)
	for i := range filexfer.MaxWaitingOffers {
		o := offerOf([]byte{byte(i)}, "withdrawn.txt")
		b.Handle(alice, l, o)
		waitState(t, b, alice, incomingID(o.ID), StateWaiting)
		b.Handle(alice, l, filexfer.Cancel{ID: o.ID, Code: filexfer.CodeCancelled})
		waitState(t, b, alice, incomingID(o.ID), StateFailed)
	}
	late := offerOf([]byte("in the loop"), "loop.txt")
	b.Handle(alice, l, late)
	assert.Equal(t, filexfer.CodeBusy, expect[filexfer.Decline](t, l, late.ID).Code,
		"offering and withdrawing in a loop is held to 32 per 10 minutes")

	mu.Lock()
	now = now.Add(filexfer.WithdrawnHold)
	mu.Unlock()
	after := offerOf([]byte("ten minutes later"), "later.txt")
	b.Handle(alice, l, after)
	waitState(t, b, alice, incomingID(after.ID), StateWaiting)
}

// count counts the transfers of contact at e in state st.
func count(e *Engine, contact string, st State) int {
	n := 0
	for _, tr := range e.List(contact) {
		if tr.State == st {
			n++
		}
	}
	return n
}

// Our 33rd and later offers to a contact wait, unoffered, until earlier
// ones are answered: the contact never has to decline one as busy.
func TestEngine_OurOffersBeyond32WaitForAnswersAndAreNeverDeclinedBusy(t *testing.T) {
	a, b := openEngine(t, t.TempDir()), openEngine(t, t.TempDir())
	c := connect(t, a, b)
	busy := func(m filexfer.Message) filexfer.Message {
		if d, ok := m.(filexfer.Decline); ok && d.Code == filexfer.CodeBusy {
			t.Errorf("bob declined %s as busy", d.ID)
		}
		return m
	}
	c.ba.setFilter(busy)
	t.Cleanup(func() {
		if t.Failed() {
			for _, tr := range a.List(bob) {
				t.Logf("alice %s %s %v bytes=%d", tr.ID, tr.Name, tr.State, tr.Bytes)
				if tr.Err != nil {
					t.Logf("   err %v", tr.Err)
				}
			}
			for _, tr := range b.List(alice) {
				t.Logf("bob %s %s %v err=%v", tr.ID, tr.Name, tr.State, tr.Err)
			}
		}
	})
	dir := t.TempDir()
	const n = filexfer.MaxWaitingOffers + 8
	for i := range n {
		path, _ := randomFile(t, dir, fmt.Sprintf("f%02d.bin", i), 100+i)
		_, err := a.SendFile(bob, path)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return count(a, bob, StateWaiting) == n && count(b, alice, StateWaiting) == filexfer.MaxWaitingOffers
	}, 20*time.Second, 2*time.Millisecond, "all %d wait at alice's, 32 of them offered to bob", n)
	time.Sleep(50 * time.Millisecond)
	require.Len(t, b.List(alice), filexfer.MaxWaitingOffers, "the other 8 are not offered yet")

	// A cut and a new connection: the same 32 are offered again, no more.
	c.cut()
	c = connect(t, a, b)
	c.ba.setFilter(busy)
	time.Sleep(50 * time.Millisecond)
	require.Len(t, b.List(alice), filexfer.MaxWaitingOffers)

	// Bob declines 5: 5 more come.
	ts := b.List(alice)
	for _, tr := range ts[:5] {
		require.NoError(t, b.Decline(alice, tr.ID))
	}
	require.Eventually(t, func() bool {
		return len(b.List(alice)) == filexfer.MaxWaitingOffers+5 && count(b, alice, StateWaiting) == filexfer.MaxWaitingOffers
	}, 20*time.Second, 2*time.Millisecond, "5 more offered")

	// Bob accepts everything that comes: every file arrives.
	require.Eventually(t, func() bool {
		for _, tr := range b.List(alice) {
			if tr.State == StateWaiting {
				if err := b.Accept(alice, tr.ID); err != nil {
					got, _ := b.Get(alice, tr.ID)
					t.Logf("accept %s: %v; now %v: %v", tr.ID, err, got.State, got.Err)
				}
			}
		}
		return count(a, bob, StateDone) == n-5
	}, 30*time.Second, 5*time.Millisecond, "every file but the 5 declined arrives")
	assert.Equal(t, 5, count(a, bob, StateFailed))
	for _, tr := range a.List(bob) {
		if tr.State == StateFailed {
			assert.ErrorIs(t, tr.Err, filexfer.ErrDeclined)
		}
	}
}

// takeOffer waits for the engine's next Offer on l.
func takeOffer(t *testing.T, l *fakeLink) filexfer.Offer {
	t.Helper()
	var o filexfer.Offer
	require.Eventually(t, func() bool {
		m := l.take(func(m filexfer.Message) bool { _, ok := m.(filexfer.Offer); return ok })
		if m != nil {
			o = m.(filexfer.Offer)
		}
		return m != nil
	}, 10*time.Second, time.Millisecond, "an offer")
	return o
}

// The partner may decline an offer as busy where ours counted a free
// place (it counts offers withdrawn in the last 10 minutes, or it is
// another implementation): the offer waits and comes again once the
// partner answers another one, or on the next link; it never fails.
func TestEngine_ABusyDeclineMakesOurOfferWaitAndComeAgain(t *testing.T) {
	a := openEngine(t, t.TempDir())
	l := newFakeLink()
	a.Connected(bob, l)
	dir := t.TempDir()
	p1, _ := randomFile(t, dir, "one.bin", 1000)
	first, err := a.SendFile(bob, p1)
	require.NoError(t, err)
	o1 := takeOffer(t, l)
	p2, _ := randomFile(t, dir, "two.bin", 2000)
	second, err := a.SendFile(bob, p2)
	require.NoError(t, err)
	o2 := takeOffer(t, l)
	require.Equal(t, "two.bin", o2.Name)

	a.Handle(bob, l, filexfer.DeclineBusy(o2))
	p3, _ := randomFile(t, dir, "three.bin", 3000)
	third, err := a.SendFile(bob, p3)
	require.NoError(t, err)
	waitState(t, a, bob, third.ID, StateWaiting)
	time.Sleep(50 * time.Millisecond)
	assert.Nil(t, l.take(func(m filexfer.Message) bool { _, ok := m.(filexfer.Offer); return ok }),
		"no new offer while the partner has no room")
	got, _ := a.Get(bob, second.ID)
	assert.Equal(t, StateWaiting, got.State, "not failed: it waits")

	// The partner declines the first: one place, for the oldest waiting.
	a.Handle(bob, l, filexfer.Decline{ID: o1.ID, Code: filexfer.CodeDeclined})
	waitState(t, a, bob, first.ID, StateFailed)
	again := takeOffer(t, l)
	assert.Equal(t, o2, again, "the declined-as-busy offer comes again, the same")
	time.Sleep(50 * time.Millisecond)
	assert.Nil(t, l.take(func(m filexfer.Message) bool { _, ok := m.(filexfer.Offer); return ok }))

	// A new link offers both that wait, and the place count starts again.
	l2 := newFakeLink()
	a.Disconnected(bob, l)
	a.Connected(bob, l2)
	names := []string{takeOffer(t, l2).Name, takeOffer(t, l2).Name}
	assert.ElementsMatch(t, []string{"two.bin", "three.bin"}, names)
}

// A busy Decline with no other offer of ours waiting at the partner (it
// still counted offers we withdrew): nothing would free a place, so the
// places are ours again once the partner's count is over.
func TestEngine_AfterABusyDeclineWithNothingElseWaitingTheOfferComesAgainLater(t *testing.T) {
	old := busyRetry
	busyRetry = 300 * time.Millisecond
	t.Cleanup(func() { busyRetry = old })
	a := openEngine(t, t.TempDir())
	l := newFakeLink()
	a.Connected(bob, l)
	path, _ := randomFile(t, t.TempDir(), "f.bin", 1000)
	tr, err := a.SendFile(bob, path)
	require.NoError(t, err)
	o := takeOffer(t, l)
	a.Handle(bob, l, filexfer.DeclineBusy(o))
	time.Sleep(100 * time.Millisecond)
	assert.Nil(t, l.take(func(m filexfer.Message) bool { _, ok := m.(filexfer.Offer); return ok }), "not at once")
	assert.Equal(t, o, takeOffer(t, l), "offered again")
	got, _ := a.Get(bob, tr.ID)
	assert.Equal(t, StateWaiting, got.State)
}

// Our user accepts an offer from an earlier connection just as the
// sender's repeat of it is on its way over the new one: our Accept
// answers both, and the transfer goes on (a second Accept on one
// connection would be a protocol error to the sender).
func TestEngine_AnAcceptThatCrossesTheRepeatedOfferIsSentOnce(t *testing.T) {
	b := openEngine(t, t.TempDir())
	l1 := newFakeLink()
	b.Connected(alice, l1)
	data := randomBytes(1000)
	o := offerOf(data, "crossed.bin")
	b.Handle(alice, l1, o)
	id := incomingID(o.ID)
	waitState(t, b, alice, id, StateWaiting)
	b.Disconnected(alice, l1)
	l2 := newFakeLink()
	b.Connected(alice, l2)

	require.NoError(t, b.Accept(alice, id))
	assert.Equal(t, uint64(0), expect[filexfer.Accept](t, l2, o.ID).Offset)
	b.Handle(alice, l2, o) // the repeat, sent before the sender saw our Accept
	time.Sleep(50 * time.Millisecond)
	assert.Nil(t, l2.take(func(m filexfer.Message) bool { _, ok := m.(filexfer.Accept); return ok }), "one Accept on this link")
	sendAll(b, l2, o.ID, data)
	expect[filexfer.Done](t, l2, o.ID)
	waitState(t, b, alice, id, StateDone)
}
