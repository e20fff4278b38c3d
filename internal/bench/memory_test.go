package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryRows_DifferencesWithinEachRun(t *testing.T) {
	out := `xdotool noise
mem 1 minimal 140000 114000 140000
mem 1 locked 151000 125000 151000
mem 1 unlocked1s 154000 128000 219000
mem 1 unlocked 157000 131000 219000
mem 2 locked 150000 125000 150000
mem 2 unlocked1s 153000 128000 218000
mem 2 unlocked 170000 131000 218000
mem 2 minimal 150000 115000 150000
`
	ms, err := parseMemory(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, ms, 8)
	runs, err := memoryRuns(ms)
	require.NoError(t, err)
	rows := memoryRows(runs, 10*time.Second)
	require.Len(t, rows, 2)
	// Differences 17000 and 20000 KiB; the nearest-rank median of two is the lower.
	assert.Equal(t, "+16.6 MiB", rows[0].Ratio)
	assert.True(t, *rows[0].Met, "16.6 MiB is within 30 MB")
	assert.Contains(t, rows[0].Note, "+16.6 MiB, +19.5 MiB")
	assert.Equal(t, "+2.9 MiB", rows[1].Ratio)
	assert.True(t, *rows[1].Met)

	// 35 MB over the minimal app misses the target.
	runs[0][memUnlocked] = memReading{run: 1, what: memUnlocked, rss: 140000 + 35_000_000/1024, pss: 1, hwm: 1}
	runs = runs[:1]
	assert.False(t, *memoryRows(runs, time.Second)[0].Met)
}

func TestParseMemory_Rejects(t *testing.T) {
	for _, bad := range []string{"mem 1 minimal 140000 114000", "mem x minimal 1 2 3", "mem 1 minimal 0 2 3"} {
		_, err := parseMemory(strings.NewReader(bad))
		assert.Error(t, err, bad)
	}
	ms, err := parseMemory(strings.NewReader("mem 1 minimal 1 2 3\n"))
	require.NoError(t, err)
	_, err = memoryRuns(ms)
	assert.ErrorContains(t, err, "run 1 has no locked reading")
	_, err = memoryRuns(nil)
	assert.Error(t, err)
}
