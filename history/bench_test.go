package history

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	benchMessages = 100_000
	benchConvs    = 10 // the first holds half the messages
)

var benchWords = []string{"hello", "are", "you", "there", "the", "meeting", "moved", "to", "Tuesday",
	"see", "lunch", "ok", "thanks", "later", "Project", "draft", "sent", "call", "me", "tonight"}

func benchText(i int) string {
	s := ""
	for j := 0; j < 8; j++ {
		s += benchWords[(i*7+j*13)%len(benchWords)] + " "
	}
	return s + fmt.Sprint(i)
}

// fillHistory appends n messages over benchConvs conversations, in bursts,
// and returns the id of the largest conversation.
func fillHistory(tb testing.TB, v *Vault, n int) string {
	var largest string
	per := []int{n / 2}
	for i := 1; i < benchConvs; i++ {
		per = append(per, (n-n/2)/(benchConvs-1))
	}
	seq := 0
	for c, count := range per {
		w, err := v.BeginConversation(ConversationMeta{Partner: fmt.Sprint("partner ", c), Fingerprint: "fp", Role: "host", Addr: "192.0.2.1:9999", Start: t0.Add(time.Duration(c) * time.Hour)})
		require.NoError(tb, err)
		if c == 0 {
			largest = w.ID()
		}
		var wg sync.WaitGroup
		for i := 0; i < count; i++ {
			seq++
			wg.Add(1)
			w.AppendMessage(msg(seq, i%2 == 0, benchText(seq)), func(err error) {
				if err != nil {
					panic(err)
				}
				wg.Done()
			})
			if i%1000 == 999 {
				wg.Wait()
			}
		}
		wg.Wait()
		require.NoError(tb, w.End("bye", t0))
	}
	return largest
}

var (
	benchOnce    sync.Once
	benchDir     string
	benchLargest string
)

// benchProfile is a closed profile with a 100,000-message history, made
// once per test binary.
func benchProfile(b *testing.B) (string, string) {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "securechat-bench")
		require.NoError(b, err)
		benchDir = dir + "/profile"
		v, err := create(benchDir, "Bench", testPass, testParams, testIdentity(b), hooks{})
		require.NoError(b, err)
		benchLargest = fillHistory(b, v, benchMessages)
		require.NoError(b, v.Close())
	})
	return benchDir, benchLargest
}

// BenchmarkAppend100k appends 100,000 messages in bursts of 1,000, each burst
// waited for, with real fsyncs.
func BenchmarkAppend100k(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		v, _ := newVault(b, hooks{})
		b.StartTimer()
		fillHistory(b, v, benchMessages)
		b.StopTimer()
		require.NoError(b, v.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchMessages, "ns/message")
}

// BenchmarkReopen opens a 100,000-message profile (with cheap Argon2id
// parameters, so that only the history counts), lists it and loads the
// largest conversation.
func BenchmarkReopen(b *testing.B) {
	dir, largest := benchProfile(b)
	b.ReportAllocs()
	var retained uint64
	for b.Loop() {
		v, err := Open(dir, testPass)
		require.NoError(b, err)
		sums, err := v.Conversations()
		require.NoError(b, err)
		require.Len(b, sums, benchConvs)
		tr, err := v.Load(largest)
		require.NoError(b, err)
		require.Len(b, tr.Messages, benchMessages/2)
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		retained = max(retained, ms.HeapAlloc)
		runtime.KeepAlive(tr)
		require.NoError(b, v.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(retained)/(1<<20), "MiB-heap-open")
}

// BenchmarkSearch searches every message of a 100,000-message history.
func BenchmarkSearch(b *testing.B) {
	dir, _ := benchProfile(b)
	v, err := Open(dir, testPass)
	require.NoError(b, err)
	defer v.Close()
	b.ReportAllocs()
	for b.Loop() {
		hits, err := v.Search("TUESDAY")
		require.NoError(b, err)
		require.NotEmpty(b, hits)
	}
}

// BenchmarkThread loads a thread of 100,000 messages in ten conversations
// (every conversation of the bench profile has one key), and the summary of
// every thread.
func BenchmarkThread(b *testing.B) {
	dir, _ := benchProfile(b)
	v, err := Open(dir, testPass)
	require.NoError(b, err)
	defer v.Close()
	sums, err := v.Conversations()
	require.NoError(b, err)
	n := 0
	for _, s := range sums {
		n += s.Messages
	}
	b.ReportAllocs()
	for b.Loop() {
		th, err := v.Thread("fp")
		require.NoError(b, err)
		require.Equal(b, n, len(th.Messages))
		sums, err := v.Threads()
		require.NoError(b, err)
		require.Len(b, sums, 1)
	}
}

// BenchmarkReceived looks up message ids in the thread of the bench
// profile (100,000 messages, half of them received, in ten conversations):
// one lookup each, however long the thread. fillHistory's received
// messages have even numbers.
func BenchmarkReceived(b *testing.B) {
	dir, _ := benchProfile(b)
	v, err := Open(dir, testPass)
	require.NoError(b, err)
	defer v.Close()
	// fillHistory's message seq is received if its index in its
	// conversation is odd.
	var incoming []bool
	per := []int{benchMessages / 2}
	for i := 1; i < benchConvs; i++ {
		per = append(per, (benchMessages-benchMessages/2)/(benchConvs-1))
	}
	for _, count := range per {
		for i := range count {
			incoming = append(incoming, i%2 == 1)
		}
	}
	type probe struct {
		id   string
		want bool
	}
	probes := make([]probe, 1024)
	for i := range probes {
		seq := i*97%len(incoming) + 1
		probes[i] = probe{msg(seq, false, "").ID, incoming[seq-1]}
	}
	probes = append(probes, probe{msg(len(incoming)+1, false, "").ID, false})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := probes[i%len(probes)]
		if v.Received("fp", p.id) != p.want {
			b.Fatalf("Received(%s) is not %v", p.id, p.want)
		}
		i++
	}
}

// BenchmarkUnlockDefaultParams measures the Argon2id cost of DefaultParams.
func BenchmarkUnlockDefaultParams(b *testing.B) {
	kf, err := wrapKey(make([]byte, dataKeySize), testPass, DefaultParams)
	require.NoError(b, err)
	for b.Loop() {
		_, _, err := unwrapKey(kf, testPass)
		require.NoError(b, err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(filepath.Dir(benchDir))
	}
	os.Exit(code)
}
