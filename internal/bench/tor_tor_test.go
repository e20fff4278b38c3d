//go:build tor

package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRun_TorGroup runs the tor group small, with a real tor on a private
// network (about 30 s): go test -tags tor -run TorGroup ./internal/bench/
func TestRun_TorGroup(t *testing.T) {
	rep, err := Run(Options{Dir: t.TempDir(), Only: []string{GroupTor},
		TorStarts: 1, TorHandshakes: 2, TorRounds: 5, TorIdle: time.Second})
	require.NoError(t, err)
	t.Log("\n" + rep.Table())
	require.Len(t, rep.Rows, 9, "every row of the group")
	last := rep.Rows[len(rep.Rows)-1]
	assert.Equal(t, "tor stopped when Tor mode closes", last.Name)
	assert.Equal(t, "3 of 3 gone", last.Ours)
	require.NotNil(t, last.Met)
	assert.True(t, *last.Met)
	for _, r := range rep.Rows {
		assert.NotEqual(t, "—", r.Ours, "%s: measured", r.Name)
	}
}
