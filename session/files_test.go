package session

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/transfer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeFiles stands in for the transfer engine: it records what the session
// hands it and lets a test answer.
type fakeFiles struct {
	mu           sync.Mutex
	connected    []transfer.Link
	disconnected []transfer.Link
	got          []filexfer.Message
	onConnected  func(l transfer.Link)
	onHandle     func(l transfer.Link, m filexfer.Message)
}

func (f *fakeFiles) Connected(contact string, l transfer.Link) {
	f.mu.Lock()
	f.connected = append(f.connected, l)
	h := f.onConnected
	f.mu.Unlock()
	if h != nil {
		h(l)
	}
}

func (f *fakeFiles) Disconnected(contact string, l transfer.Link) {
	f.mu.Lock()
	f.disconnected = append(f.disconnected, l)
	f.mu.Unlock()
}

func (f *fakeFiles) Handle(contact string, l transfer.Link, m filexfer.Message) {
	f.mu.Lock()
	if _, chunk := m.(filexfer.Chunk); !chunk {
		f.got = append(f.got, m)
	}
	h := f.onHandle
	f.mu.Unlock()
	if h != nil {
		h(l, m)
	}
}

func (f *fakeFiles) snapshot() (connected, disconnected []transfer.Link, got []filexfer.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.connected), slices.Clone(f.disconnected), slices.Clone(f.got)
}

// chatWithFiles starts bob hosting and alice connecting, each with its fake
// file transfers, both accepting.
func chatWithFiles(t *testing.T, af, bf *fakeFiles) (alice, bob *peer) {
	t.Helper()
	bc := testConfig("bob", nil)
	bc.Files = bf
	h, err := Host(bc, "127.0.0.1:0")
	require.NoError(t, err)
	bob = watch(t, h, nil, true)
	ac := testConfig("alice", nil)
	ac.Files = af
	c, err := Connect(ac, hostAddr(t, bob))
	require.NoError(t, err)
	alice = watch(t, c, nil, true)
	waitFor[Connected](alice, nil)
	waitFor[Connected](bob, nil)
	return alice, bob
}

func TestFiles_FileMessagesCrossTheLinkAndTheTransfersHearWhenItEnds(t *testing.T) {
	id := filexfer.ID{7}
	offer := filexfer.Offer{ID: id, Size: 3, MediaType: "text/plain", Name: "a.txt"}
	af := &fakeFiles{onConnected: func(l transfer.Link) { _ = l.Send(offer) }}
	bf := &fakeFiles{onHandle: func(l transfer.Link, m filexfer.Message) {
		if _, ok := m.(filexfer.Offer); ok {
			_ = l.Send(filexfer.Accept{ID: id})
		}
	}}
	af.onHandle = func(l transfer.Link, m filexfer.Message) {
		if _, ok := m.(filexfer.Accept); ok {
			_ = l.SendChunk(filexfer.Chunk{ID: id, Data: []byte("abc")})
		}
	}
	var chunk filexfer.Chunk
	got := make(chan struct{})
	inner := bf.onHandle
	bf.onHandle = func(l transfer.Link, m filexfer.Message) {
		inner(l, m)
		if c, ok := m.(filexfer.Chunk); ok {
			chunk = c
			_ = l.Send(filexfer.Done{ID: id})
			close(got)
		}
	}
	alice, _ := chatWithFiles(t, af, bf)
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the chunk did not arrive")
	}
	assert.Equal(t, "abc", string(chunk.Data))
	require.Eventually(t, func() bool { _, _, g := af.snapshot(); return len(g) == 2 }, 5*time.Second, 10*time.Millisecond)
	_, _, aliceGot := af.snapshot()
	assert.Equal(t, []filexfer.Message{filexfer.Accept{ID: id}, filexfer.Done{ID: id}}, aliceGot)
	_, _, bobGot := bf.snapshot()
	assert.Equal(t, []filexfer.Message{offer}, bobGot)

	require.NoError(t, alice.disconnect())
	for name, f := range map[string]*fakeFiles{"alice": af, "bob": bf} {
		require.Eventually(t, func() bool { _, d, _ := f.snapshot(); return len(d) == 1 }, 5*time.Second, 10*time.Millisecond, name)
		c, d, _ := f.snapshot()
		require.Len(t, c, 1, name)
		assert.Same(t, c[0], d[0], "%s: the link that went away is the one that came", name)
		assert.Error(t, c[0].Send(filexfer.Done{ID: id}), "%s: nothing is sent on a link that ended", name)
		assert.Error(t, c[0].SendChunk(filexfer.Chunk{ID: id, Data: []byte("x")}), name)
	}
}

func TestFiles_WithoutTransfersAFileMessageIsDroppedAndTheChatGoesOn(t *testing.T) {
	af := &fakeFiles{onConnected: func(l transfer.Link) {
		_ = l.Send(filexfer.Offer{ID: filexfer.ID{1}, Size: 3, MediaType: "text/plain", Name: "a.txt"})
	}}
	bc := testConfig("bob", nil) // no Files
	h, err := Host(bc, "127.0.0.1:0")
	require.NoError(t, err)
	bob := watch(t, h, nil, true)
	ac := testConfig("alice", nil)
	ac.Files = af
	c, err := Connect(ac, hostAddr(t, bob))
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	_, err = alice.send("still here")
	require.NoError(t, err)
	waitFor[MessageEvent](bob, func(e MessageEvent) bool { return e.Message.Text == "still here" })
	assert.Empty(t, eventsOf[Ended](bob))
}

// Done when (issue 14): chat messages sent during a transfer arrive within
// 100 ms of when they would without it. Alice streams chunks as fast as
// the window lets her (bob reports progress as the engine would, every
// half window) while she sends messages; each message's time from Send to
// bob's MessageEvent is compared with the same without the transfer.
func TestFiles_ChatDuringATransferArrivesWithin100msOfWithoutIt(t *testing.T) {
	id := filexfer.ID{9}
	var (
		mu      sync.Mutex
		granted uint64 // bob's last Progress
		sent    uint64
		pumping bool
		moved   uint64 // bytes bob received
		stop    = make(chan struct{})
		wake    = make(chan struct{}, 1)
	)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	pump := func(l transfer.Link) {
		data := make([]byte, filexfer.ChunkSize)
		for {
			mu.Lock()
			on, off := pumping, sent
			can := on && off+filexfer.ChunkSize <= granted+filexfer.Window
			if can {
				sent += filexfer.ChunkSize
			}
			mu.Unlock()
			if can {
				if l.SendChunk(filexfer.Chunk{ID: id, Offset: off, Data: data}) != nil {
					return
				}
				continue
			}
			select {
			case <-wake:
			case <-stop:
				return
			}
		}
	}
	af := &fakeFiles{
		onConnected: func(l transfer.Link) { go pump(l) },
		onHandle: func(l transfer.Link, m filexfer.Message) {
			if p, ok := m.(filexfer.Progress); ok {
				mu.Lock()
				granted = p.Durable
				mu.Unlock()
				poke()
			}
		},
	}
	bf := &fakeFiles{onHandle: func(l transfer.Link, m filexfer.Message) {
		if c, ok := m.(filexfer.Chunk); ok {
			mu.Lock()
			moved += uint64(len(c.Data))
			end := c.Offset + uint64(len(c.Data))
			report := end%(filexfer.Window/2) == 0
			mu.Unlock()
			if report {
				_ = l.Send(filexfer.Progress{ID: id, Durable: end})
			}
		}
	}}
	defer close(stop)

	alice, bob := chatWithFiles(t, af, bf)
	contact := alice.contact()
	latencies := func(n int) []time.Duration {
		var out []time.Duration
		for range n {
			start := time.Now()
			id, err := alice.s.Send(contact, "message during the test")
			require.NoError(t, err)
			waitFor[MessageEvent](bob, func(e MessageEvent) bool { return e.Message.ID == id })
			out = append(out, time.Since(start))
			time.Sleep(20 * time.Millisecond)
		}
		slices.Sort(out)
		return out
	}
	without := latencies(30)
	mu.Lock()
	pumping = true
	mu.Unlock()
	poke()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return moved > 8<<20 }, 20*time.Second, 5*time.Millisecond, "the transfer runs")
	mu.Lock()
	before := moved
	mu.Unlock()
	with := latencies(30)
	mu.Lock()
	during := moved - before
	mu.Unlock()
	p := func(d []time.Duration, q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	t.Logf("without a transfer: p50 %v p90 %v max %v", p(without, .5), p(without, .9), p(without, 1))
	t.Logf("during a transfer:  p50 %v p90 %v max %v; %.1f MiB moved while the 30 messages went", p(with, .5), p(with, .9), p(with, 1), float64(during)/(1<<20))
	assert.Greater(t, during, uint64(4<<20), "file data moved while the messages went")
	assert.LessOrEqual(t, p(with, .5), p(without, .5)+100*time.Millisecond)
	assert.LessOrEqual(t, p(with, .9), p(without, .9)+100*time.Millisecond)
}
