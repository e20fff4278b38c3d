package bench

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/internal/testkeys"
	"github.com/securechat/securechat/session"
)

func TestQuantile_NearestRank(t *testing.T) {
	s := samples{5, 1, 4, 2, 3}
	assert.Equal(t, time.Duration(3), s.median())
	assert.Equal(t, time.Duration(1), s.quantile(0))
	assert.Equal(t, time.Duration(5), s.quantile(1))
	assert.Equal(t, time.Duration(5), s.quantile(0.99))
	assert.Equal(t, time.Duration(0), samples{}.median())
	var hundred samples
	for i := range 100 {
		hundred = append(hundred, time.Duration(i+1))
	}
	assert.Equal(t, time.Duration(99), hundred.quantile(0.99))
	assert.Equal(t, time.Duration(50), hundred.median())
}

func TestInterleave_RotatesOrder(t *testing.T) {
	var order []int
	mk := func(k int) func() (time.Duration, error) {
		return func() (time.Duration, error) { order = append(order, k); return time.Duration(k), nil }
	}
	res, err := interleave(3, mk(0), mk(1), mk(2))
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2, 1, 2, 0, 2, 0, 1}, order)
	for k, s := range res {
		assert.Len(t, s, 3)
		assert.Equal(t, time.Duration(k), s.median())
	}
}

func TestReplaceGenerated_KeepsHandWrittenProse(t *testing.T) {
	doc := "# Benchmarks\n\nintro\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\n## Analysis\nkept\n"
	out, err := replaceGenerated([]byte(doc), "new table\n")
	require.NoError(t, err)
	s := string(out)
	assert.Contains(t, s, "intro")
	assert.Contains(t, s, "new table")
	assert.NotContains(t, s, "old table")
	assert.Contains(t, s, "## Analysis\nkept\n")

	_, err = replaceGenerated([]byte("no markers"), "x")
	assert.Error(t, err)
}

func TestTable_AlignsColumnsAndShowsVerdicts(t *testing.T) {
	r := &Report{}
	r.add(Row{Name: "handshake", Ours: "20 ms", Peers: "TLS 10 ms", Ratio: "2.00×", Target: "≤ 1.50×", Met: verdict(false)})
	r.add(Row{Name: "keygen", Ours: "1 s"})
	lines := strings.Split(strings.TrimSpace(r.Table()), "\n")
	require.Len(t, lines, 4)
	for _, l := range lines[1:] {
		assert.Equal(t, len([]rune(lines[0])), len([]rune(l)), "every line as wide as the header")
	}
	assert.Contains(t, lines[2], "| no ")
	assert.Contains(t, lines[3], "| — ")
}

func TestHistoryText_MatchesHistoryBench(t *testing.T) {
	// history/bench_test.go's benchText(1), written out.
	assert.Equal(t, "to hello later moved tonight thanks meeting me 1", historyText(1))
}

// The benchmarks below measure SecureChat's side of each comparison alone,
// for profiling: go test -run '^$' -bench Throughput -cpuprofile cpu.out ./internal/bench

func benchPair(b *testing.B, withHistory bool) *chatPair {
	b.Helper()
	cfgs := []session.Config{
		{Identity: testkeys.Identity("alice"), Name: "Alice"},
		{Identity: testkeys.Identity("bob"), Name: "Bob"},
	}
	if withHistory {
		for i := range cfgs {
			v, err := history.CreateWith(filepath.Join(b.TempDir(), "profile"), cfgs[i].Name, []byte("scbench"), cheapParams)
			require.NoError(b, err)
			b.Cleanup(func() { v.Close() })
			cfgs[i].Identity, cfgs[i].Store = v.Identity(), v
		}
	}
	p, err := newPair(cfgs[0], cfgs[1])
	require.NoError(b, err)
	b.Cleanup(p.close)
	return p
}

func BenchmarkHandshake(b *testing.B) {
	h, addr, err := host(session.Config{Identity: testkeys.Identity("alice"), Name: "Alice"})
	require.NoError(b, err)
	defer h.close()
	cfg := session.Config{Identity: testkeys.Identity("bob"), Name: "Bob"}
	for b.Loop() {
		_, err := handshake(h, addr, cfg)
		require.NoError(b, err)
	}
}

func benchRoundTrip(b *testing.B, withHistory bool) {
	p := benchPair(b, withHistory)
	text := strings.Repeat("x", rttSize)
	for b.Loop() {
		_, err := p.roundTrip(text)
		require.NoError(b, err)
	}
}

func BenchmarkRoundTripHistoryOff(b *testing.B) { benchRoundTrip(b, false) }
func BenchmarkRoundTripHistoryOn(b *testing.B)  { benchRoundTrip(b, true) }

func benchThroughput(b *testing.B, withHistory bool) {
	p := benchPair(b, withHistory)
	text := strings.Repeat("y", throughputSize)
	b.SetBytes(throughputSize)
	_, err := p.send(text, b.N, 1000)
	require.NoError(b, err)
}

func BenchmarkThroughputHistoryOff(b *testing.B) { benchThroughput(b, false) }
func BenchmarkThroughputHistoryOn(b *testing.B)  { benchThroughput(b, true) }

func BenchmarkFsync(b *testing.B) {
	fs, err := newFsyncer(b.TempDir())
	require.NoError(b, err)
	defer fs.close()
	for b.Loop() {
		_, err := fs.sync()
		require.NoError(b, err)
	}
}

func TestCount_ShortensThousandsAndMillions(t *testing.T) {
	assert.Equal(t, "10k", count(10000))
	assert.Equal(t, "1M", count(1000000))
	assert.Equal(t, "1500", count(1500))
}

func TestRun_TheOutboxRowComparesQueuedWithLive(t *testing.T) {
	rep, err := Run(Options{Dir: t.TempDir(), Only: []string{GroupOutbox}, OutboxReps: 1})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	row := rep.Rows[0]
	assert.Contains(t, row.Name, "outbox: partner online")
	assert.Contains(t, row.Peers, "live connection")
	assert.NotEmpty(t, row.Ours)
	assert.NotEmpty(t, row.Ratio)
}

func TestRun_TheFilesRowComparesATransferWithATLSCopy(t *testing.T) {
	rep, err := Run(Options{Dir: t.TempDir(), Only: []string{GroupFiles}, FileReps: 1, FileSize: 5 << 20})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	row := rep.Rows[0]
	assert.Contains(t, row.Name, "file 5 MiB")
	assert.Contains(t, row.Peers, "TLS 1.3 copy")
	assert.Contains(t, row.Ours, "MiB/s")
	assert.NotEmpty(t, row.Ratio)
}
