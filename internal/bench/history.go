package bench

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/securechat/securechat/history"
)

// The history's shape is that of history/bench_test.go, so that the figures
// here and `go test -bench . ./history` describe the same thing: 100,000
// messages over ten conversations, the first holding half, appended in
// bursts of 1,000 that are each waited for.
const (
	historyConvs = 10
	historyBurst = 1000
	// searchTerm matches one message in twenty, in another case.
	searchTerm = "TUESDAY"
)

var historyWords = []string{"hello", "are", "you", "there", "the", "meeting", "moved", "to", "Tuesday",
	"see", "lunch", "ok", "thanks", "later", "Project", "draft", "sent", "call", "me", "tonight"}

// historyText is the i-th message's text, as history/bench_test.go writes it.
func historyText(i int) string {
	var b strings.Builder
	for j := range 8 {
		b.WriteString(historyWords[(i*7+j*13)%len(historyWords)])
		b.WriteByte(' ')
	}
	fmt.Fprint(&b, i)
	return b.String()
}

// cheapParams make unlocking nearly free, so that a reopen measures the
// history alone.
var cheapParams = history.Params{Time: 1, MemoryKiB: 64, Threads: 1}

// fillHistory appends n messages to v and returns the id of the largest
// conversation and the time the appends took (conversation starts and ends
// included, as a user's history has them).
func fillHistory(v *history.Vault, n int) (string, time.Duration, error) {
	return fillHistoryBursts(v, n, historyBurst)
}

// fillHistoryBursts is [fillHistory] with bursts of burst messages.
func fillHistoryBursts(v *history.Vault, n, burst int) (string, time.Duration, error) {
	per := []int{n / 2}
	for i := 1; i < historyConvs; i++ {
		per = append(per, (n-n/2)/(historyConvs-1))
	}
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var largest string
	seq := 0
	start := time.Now()
	for c, count := range per {
		w, err := v.BeginConversation(history.ConversationMeta{
			Partner: fmt.Sprint("partner ", c), Fingerprint: "fp", Role: "host",
			Addr: "192.0.2.1:9999", Start: t0.Add(time.Duration(c) * time.Hour),
		})
		if err != nil {
			return "", 0, err
		}
		if c == 0 {
			largest = w.ID()
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			firstErr error
		)
		durable := func(err error) {
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			wg.Done()
		}
		for i := range count {
			seq++
			wg.Add(1)
			w.AppendMessage(history.MessageRecord{
				ID: fmt.Sprintf("%032x", seq), Outgoing: i%2 == 0,
				Time: t0.Add(time.Duration(seq) * time.Second), Text: historyText(seq),
			}, durable)
			if i%burst == burst-1 {
				wg.Wait()
			}
		}
		wg.Wait()
		if firstErr != nil {
			return "", 0, firstErr
		}
		if err := w.End("bye", t0); err != nil {
			return "", 0, err
		}
	}
	return largest, time.Since(start), nil
}

// search runs one search over the open vault.
func search(v *history.Vault) (time.Duration, error) {
	start := time.Now()
	hits, err := v.Search(searchTerm)
	d := time.Since(start)
	if err == nil && len(hits) == 0 {
		err = fmt.Errorf("search for %q found nothing", searchTerm)
	}
	return d, err
}
