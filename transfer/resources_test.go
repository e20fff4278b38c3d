package transfer

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/filexfer"
)

func TestEngine_CloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		dirA, dirB := t.TempDir(), t.TempDir()
		a, err := Open(Options{Dir: dirA, Key: testKey})
		require.NoError(t, err)
		b, err := Open(Options{Dir: dirB, Key: testKey})
		require.NoError(t, err)
		c := connect(t, a, b)
		outID, inID, _ := offerAndAccept(t, a, b, 1000)
		waitState(t, b, alice, inID, StateDone)
		waitState(t, a, bob, outID, StateDone)
		dropProgress(c)
		_, partID, _ := offerAndAccept(t, a, b, 8<<20) // left half-way: its workers run
		halfWay(t, c, partID)
		path, _ := randomFile(t, t.TempDir(), "waiting.txt", 10) // never accepted
		_, err = a.SendFile(bob, path)
		require.NoError(t, err)
		c.cut()
		require.NoError(t, a.Close())
		require.NoError(t, b.Close())
		for range a.Events() { // closed by Close
		}
		require.NoError(t, a.Close(), "a second Close does nothing")
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestEngine_LargeTransferKeepsTheHeapSmall sends a large file between two
// engines and samples the heap: no side holds the file in memory. 200 MiB
// without the race detector; with it (5 to 10 times slower) 32 MiB.
func TestEngine_LargeTransferKeepsTheHeapSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("large transfer")
	}
	size := int64(200 << 20)
	if raceEnabled {
		size = 32 << 20
	}
	src := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(src)
	require.NoError(t, err)
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{1})
	_, err = io.CopyN(io.MultiWriter(f, h), rng, size)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	var want [32]byte
	h.Sum(want[:0])

	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir(), func(o *Options) { o.AutoAccept = func(Transfer) bool { return true } })
	connect(t, a, b)
	// A tighter GC than the default, so that the heap in use follows what
	// is live rather than garbage not yet collected.
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()

	start := time.Now()
	sent, err := a.SendFile(bob, src)
	require.NoError(t, err)
	prepared := waitFor(t, a, bob, sent.ID, "offered", func(tr Transfer) bool { return tr.State != StatePreparing })
	imported := time.Since(start)
	in := waitFor(t, b, alice, theirs(sent.ID), "done", func(tr Transfer) bool { return tr.State == StateDone || tr.State == StateFailed })
	require.Equal(t, StateDone, in.State, "%v", in.Err)
	waitState(t, a, bob, sent.ID, StateDone)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()

	assert.Equal(t, want, in.SHA256)
	assert.Equal(t, want, prepared.SHA256)
	grew := int64(peak.Load()) - int64(base)
	t.Logf("%d MiB: imported in %v, delivered in %v (%.0f MiB/s); heap in use %d KiB at the start, at most %d KiB more",
		size>>20, imported.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(size>>20)/elapsed.Seconds(), base>>10, grew>>10)
	// A window in flight (768 KiB, on the link or in the receiver's
	// queue), chunk copies, and the stores' buffers: far from the file.
	assert.Less(t, grew, int64(12<<20), "the heap grew by %d bytes", grew)
	_ = filexfer.Window
}
