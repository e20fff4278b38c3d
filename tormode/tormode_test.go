package tormode

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/securechat/securechat/tor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func waitState(t *testing.T, m *Mode, want State) Status {
	t.Helper()
	ch := m.Watch()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case st, ok := <-ch:
			require.True(t, ok, "watch closed before %s", want)
			if st.State == want {
				return st
			}
		case <-timeout:
			t.Fatalf("no %s within 20 s; now %+v", want, m.Status())
		}
	}
}

// TestStart_WithoutTorSaysSoAndDialsNothing: a user who turns Tor mode on
// without tor installed gets a clear failure, not a hang.
func TestStart_WithoutTorSaysSoAndDialsNothing(t *testing.T) {
	key, err := tor.NewOnionKey(nil)
	require.NoError(t, err)
	m := Start(Config{TorPath: filepath.Join(t.TempDir(), "no-such-tor"), DataDir: filepath.Join(t.TempDir(), "tor"), OnionKey: key})
	defer m.Close()
	st := waitState(t, m, Failed)
	assert.ErrorIs(t, st.Err, ErrNoTor)
	assert.Equal(t, key.Address(), st.Onion, "the onion address is known without tor")
	assert.False(t, st.Reachable)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = m.Dial(ctx, key.Address()+":9999")
	assert.ErrorIs(t, err, ErrNoTor, "the dial fails at once with the reason")
	assert.NoError(t, ctx.Err())
	m.Publish(9999) // nothing to publish with; no panic
	m.Unpublish()
}

// TestClose_EndsWatchersAndIsSafeTwice.
func TestClose_EndsWatchersAndIsSafeTwice(t *testing.T) {
	key, err := tor.NewOnionKey(nil)
	require.NoError(t, err)
	m := Start(Config{TorPath: filepath.Join(t.TempDir(), "no-such-tor"), DataDir: t.TempDir(), OnionKey: key})
	ch := m.Watch()
	waitState(t, m, Failed)
	m.Close()
	for range ch {
	}
	assert.Equal(t, Off, m.Status().State)
	_, ok := <-m.Watch()
	assert.True(t, ok, "a watch after Close gets the last status")
	assert.Zero(t, m.PID())
}

func TestExtraFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "torrc")
	require.NoError(t, os.WriteFile(path, []byte("# a private network\nTestingTorNetwork 1\n\n  DirAuthority a orport=1 no-v2 v3ident=AB 127.0.0.1:2 CD  \n"), 0o600))
	t.Setenv(EnvExtraTorrc, path)
	lines, err := ExtraFromEnv()
	require.NoError(t, err)
	assert.Equal(t, []string{"TestingTorNetwork 1", "DirAuthority a orport=1 no-v2 v3ident=AB 127.0.0.1:2 CD"}, lines)

	t.Setenv(EnvExtraTorrc, filepath.Join(t.TempDir(), "missing"))
	_, err = ExtraFromEnv()
	assert.Error(t, err)
	t.Setenv(EnvExtraTorrc, "")
	lines, err = ExtraFromEnv()
	assert.NoError(t, err)
	assert.Nil(t, lines)
}
