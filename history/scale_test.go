package history

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReopen_HeapHoldsNoMessageTexts reopens a 100,000-message history and
// checks that the open vault's heap is a fraction of the texts: the index
// keeps where each record is, not what it says. When the vault kept every
// text in memory this took 28 MiB.
func TestReopen_HeapHoldsNoMessageTexts(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 100,000 messages")
	}
	v, dir := newVault(t, hooks{})
	largest := fillHistory(t, v, benchMessages)
	require.NoError(t, v.Close())

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	before := heap()
	v = reopen(t, dir)
	open := heap() - min(before, heap())
	t.Logf("heap of the open vault: %.1f MiB", float64(open)/(1<<20))
	// Per message: a 16-byte reference and a map entry of about 20 bytes,
	// against about 80 bytes of text and id alone.
	assert.Less(t, open, uint64(8<<20), "the open vault holds %d bytes", open)

	tr, err := v.Load(largest)
	require.NoError(t, err)
	require.Len(t, tr.Messages, benchMessages/2)
	assert.Equal(t, benchText(1), tr.Messages[0].Text)
	runtime.KeepAlive(v)
}

// TestConcurrent_AppendLoadSearch loads and searches a conversation while
// its writer appends: every read sees a prefix of the appends, in order,
// with the texts written, and nothing races.
func TestConcurrent_AppendLoadSearch(t *testing.T) {
	v, _ := newVault(t, hooks{})
	defer v.Close()
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: "fp", Role: "host", Addr: "a:1", Start: t0})
	require.NoError(t, err)
	const n = 2000
	text := func(i int) string { return fmt.Sprintf("message %d %s", i, strings.Repeat("x", i%300)) }

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		var burst sync.WaitGroup
		for i := range n {
			burst.Add(1)
			w.AppendMessage(msg(i, i%2 == 0, text(i)), func(err error) {
				assert.NoError(t, err)
				burst.Done()
			})
			if i%2 == 0 {
				require.NoError(t, w.AppendStatus(fmt.Sprintf("%032x", i), i%4 == 0, "gone"))
			}
			if i%50 == 49 {
				burst.Wait()
			}
		}
		burst.Wait()
	}()
	check := func() bool {
		tr, err := v.Load(w.ID())
		if !assert.NoError(t, err) {
			return false
		}
		for i, m := range tr.Messages {
			if !assert.Equal(t, text(i), m.Text) || !assert.Equal(t, fmt.Sprintf("%032x", i), m.ID) {
				return false
			}
		}
		hits, err := v.Search("MESSAGE 1")
		if !assert.NoError(t, err) {
			return false
		}
		for _, h := range hits {
			if !assert.Contains(t, h.Message.Text, "message 1") {
				return false
			}
		}
		return true
	}
	for reads := 0; ; reads++ {
		select {
		case <-done:
			wg.Wait()
			require.True(t, check())
			tr, err := v.Load(w.ID())
			require.NoError(t, err)
			require.Len(t, tr.Messages, n, "appends visible at once")
			assert.Equal(t, StatusFailed, tr.Messages[2].Status)
			assert.Equal(t, "gone", tr.Messages[2].Reason)
			assert.Equal(t, StatusDelivered, tr.Messages[4].Status)
			t.Logf("%d reads while appending", reads)
			again := reloadClean(t, v, w.ID()).Messages
			require.Len(t, again, n)
			for i := range again {
				require.True(t, tr.Messages[i].Time.Equal(again[i].Time))
				again[i].Time = tr.Messages[i].Time
			}
			assert.Equal(t, tr.Messages, again, "the same after a reopen")
			return
		default:
			if !check() {
				return
			}
		}
	}
}
