package session

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fast path (sendNow) writes a record from the caller's goroutine when
// the writer is idle. These tests pin what it must keep: wire order, the
// EventMessage before its ack, the history's order, and a bounded Send.

func TestSession_ConcurrentSendsKeepEachSendersOrderAndAcksNeverOvertake(t *testing.T) {
	hs, cs := newMemStore(), newMemStore()
	host, conn := startChat(t, "bob", "alice", hs, cs, nil)

	const senders, each = 4, 150
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := conn.send(fmt.Sprintf("%d:%d", g, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// The partner answers at the same time, so acks and messages cross.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range each {
			if _, err := host.send("back " + strconv.Itoa(i)); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// A partner acknowledges before it announces a message: wait for both.
	incoming := func(p *peer) int {
		n := 0
		for _, e := range eventsOf[MessageEvent](p) {
			if !e.Message.Outgoing {
				n++
			}
		}
		return n
	}
	require.Eventually(t, func() bool {
		return len(eventsOf[Delivered](conn)) == senders*each && len(eventsOf[Delivered](host)) == each &&
			incoming(host) == senders*each && incoming(conn) == each
	}, 20*time.Second, 10*time.Millisecond, "every message is delivered and shown")

	// Each sender's messages arrive in the order it sent them (a record
	// out of sequence would have ended the chat instead).
	next := make([]int, senders)
	for _, e := range eventsOf[MessageEvent](host) {
		if e.Message.Outgoing {
			continue
		}
		var g, i int
		_, err := fmt.Sscanf(e.Message.Text, "%d:%d", &g, &i)
		require.NoError(t, err)
		require.Equal(t, next[g], i, "sender %d's messages out of order", g)
		next[g]++
	}
	for g := range senders {
		assert.Equal(t, each, next[g])
	}

	// On both sides, a message's EventMessage comes before its
	// EventDelivered, and its history record before its status.
	for _, p := range []*peer{conn, host} {
		p.mu.Lock()
		shown := map[string]bool{}
		for _, e := range p.seen {
			switch e := e.(type) {
			case MessageEvent:
				if e.Message.Outgoing {
					shown[e.Message.ID] = true
				}
			case Delivered:
				assert.True(t, shown[e.ID], "delivered before it was shown: %s", e.ID)
			}
		}
		p.mu.Unlock()
	}
	for _, st := range []*memStore{hs, cs} {
		for _, c := range st.conversations() {
			c.mu.Lock()
			assert.Empty(t, c.orphans, "a status was written before its message")
			c.mu.Unlock()
		}
	}
	assert.Empty(t, eventsOf[Ended](conn))
}

func TestSession_StalledPartnerDoesNotBlockSend(t *testing.T) {
	// The relay stops forwarding our records: the socket fills up, and a
	// fast-path write runs into its deadline. Neither the fast path nor
	// Send may wait for the partner, and once it reads again every record
	// arrives, in order and whole (the writer finished the cut one first).
	var r *relay
	host, conn := startChat(t, "bob", "alice", nil, nil, func(addr string) string {
		r = newRelay(t, addr)
		return r.addr()
	})
	resume := make(chan struct{})
	r.setHook(func(dir, n int, frame []byte) [][]byte {
		if dir == 0 {
			<-resume
		}
		return [][]byte{frame}
	})
	l := conn.s.linkOf(conn.contact())
	contact := conn.contact()
	text := strings.Repeat("x", MaxMessageBytes-8)
	// Everything below runs while the partner reads nothing: the relay
	// holds our frames until resume is closed, after it. Had any call
	// waited for the partner, it would never return; the guard of several
	// seconds only turns that hang into a failure (no timing is asserted).
	var texts []string
	sent := make(chan error, 1)
	go func() {
		sent <- func() error {
			// Records written straight from here, as Send does with nothing
			// in flight, until one does not fit: about 20 MB at most, more
			// than loopback's socket buffers hold. (No EventMessage, no ack
			// awaited.)
			for i := 0; i < 300 && l.carried.Load() == 0; i++ {
				body := fmt.Sprintf("%05d %s", i, text[:len(text)-6])
				var id [IDSize]byte
				id[0], id[1] = byte(i>>8), byte(i)
				if !l.sendNow(writeItem{pt: encodeText(id, time.Now(), body)}) {
					if err := l.enqueue(writeItem{pt: encodeText(id, time.Now(), body)}); err != nil {
						return err
					}
				}
				texts = append(texts, body)
			}
			if l.carried.Load() == 0 {
				return errors.New("no fast-path write ran into its deadline: the test did not stall the socket")
			}
			// Send keeps returning while the writer waits for the socket.
			first := len(texts)
			for i := first; i < first+20; i++ {
				body := fmt.Sprintf("%05d %s", i, text[:len(text)-6])
				if _, err := conn.s.Send(contact, body); err != nil {
					return err
				}
				texts = append(texts, body)
			}
			return nil
		}()
	}()
	select {
	case err := <-sent:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		close(resume)
		t.Fatal("sending blocked on a stalled partner")
	}
	close(resume)
	// The partner acknowledges before it announces a message, so wait
	// for its events too.
	require.Eventually(t, func() bool {
		return len(eventsOf[Delivered](conn)) == 20 && len(eventsOf[MessageEvent](host)) == len(texts)
	}, 30*time.Second, 20*time.Millisecond)
	got := eventsOf[MessageEvent](host)
	for i, e := range got {
		require.Equal(t, texts[i], e.Message.Text, "message %d out of order or cut", i)
	}
	assert.Empty(t, eventsOf[Ended](conn))
}
