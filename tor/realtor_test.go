//go:build tor && unix

package tor

// Tests against the real tor (go test -tags tor ./tor/). tor gets no network:
// its only bridge is 127.0.0.1:1, which refuses, so it never bootstraps and
// never leaves the machine, but it runs its control and SOCKS ports and takes
// onion services (ADD_ONION needs no bootstrap).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// noNetwork keeps tor on the machine: a bridge that is not there.
var noNetwork = []string{"UseBridges 1", "Bridge 127.0.0.1:1"}

func startReal(t *testing.T, cfg Config) (*Tor, time.Duration) {
	t.Helper()
	bin, err := Find("")
	require.NoError(t, err)
	cfg.Binary = bin
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(t.TempDir(), "tor data") // a space, to test quoting
	}
	cfg.Extra = append(cfg.Extra, noNetwork...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	tr, err := Start(ctx, cfg)
	require.NoError(t, err)
	took := time.Since(start)
	t.Cleanup(func() {
		_ = tr.Close()
		if alive(tr.PID()) {
			t.Errorf("tor %d is still running after Close", tr.PID())
		}
	})
	return tr, took
}

// alive reports whether a process with that PID exists (zombies included).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func TestRealTor_StartOnionsClose(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tor data")
	var log syncWriter
	log.w = &bytes.Buffer{}
	tr, took := startReal(t, Config{DataDir: dir, Log: &log})
	t.Logf("Start took %v (tor %d)", took, tr.PID())

	host, port, err := net.SplitHostPort(tr.SocksAddr())
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
	require.NotEqual(t, "0", port)
	c, err := net.Dial("tcp", tr.SocksAddr())
	require.NoError(t, err, "tor listens on its SOCKS port")
	c.Close()
	require.NotEmpty(t, tr.Progress().Tag)

	// tor's bootstrap problem (the bridge refuses) arrives as an event.
	w := tr.Watch()
	deadline := time.After(15 * time.Second)
	for warned := false; !warned; {
		select {
		case p := <-w:
			t.Logf("progress %+v", p)
			warned = p.Warning != ""
		case <-deadline:
			t.Fatal("no bootstrap warning from tor")
		}
	}

	// Every vector key, and a new one: tor's ServiceID is Address().
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	keys := []OnionKey{mustKey(t, rfc8032Seed)}
	for _, v := range readVectors(t) {
		keys = append(keys, mustKey(t, v.seed))
	}
	k, err := NewOnionKey(nil)
	require.NoError(t, err)
	keys = append(keys, k)
	ctx := context.Background()
	for _, k := range keys {
		addr, err := tr.AddOnion(ctx, k, 80, ln.Addr().String())
		require.NoError(t, err)
		require.Equal(t, k.Address(), addr)
	}
	require.NoError(t, tr.DelOnion(ctx, keys[2].Address()))
	err = tr.DelOnion(ctx, keys[2].Address())
	var re *replyError
	require.ErrorAs(t, err, &re, "tor no longer knows it")
	t.Logf("DEL_ONION of an unknown service: %v", err)

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	require.ErrorIs(t, tr.WaitPublished(short, keys[0].Address()), context.DeadlineExceeded, "no network, no upload")
	cancel()

	short, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = tr.Dial(short, keys[3].Address()+":80")
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "tor holds the stream while it cannot bootstrap")

	checkNoKeyOnDisk(t, dir, keys)

	pid := tr.PID()
	start := time.Now()
	require.NoError(t, tr.Close())
	t.Logf("Close took %v", time.Since(start))
	require.False(t, alive(pid), "no tor left behind")
	require.ErrorIs(t, tr.Err(), ErrClosed)
	checkNoKeyOnDisk(t, dir, keys)
	require.Contains(t, log.String(), "Owning controller connection has closed -- exiting now.")
	_, err = os.Stat(filepath.Join(dir, "control-port"))
	require.ErrorIs(t, err, fs.ErrNotExist, "tor removes its control port file")
}

// checkNoKeyOnDisk looks for every form of every key in every file under dir.
func checkNoKeyOnDisk(t *testing.T, dir string, keys []OnionKey) {
	t.Helper()
	var needles [][]byte
	for _, k := range keys {
		x := k.expandedKey()
		seed := bytes.Clone(k[:])
		if bytes.Count(seed, seed[:1]) == len(seed) {
			// 32 zero bytes are in files for other reasons; the derived
			// forms of such a seed are still looked for.
			seed = x[:16]
		}
		needles = append(needles, seed, x, k.keyBlob(),
			[]byte(hex.EncodeToString(k[:])), []byte(hex.EncodeToString(x)),
			[]byte(base64.StdEncoding.EncodeToString(k[:])), []byte(base64.RawStdEncoding.EncodeToString(x)),
			x[:32], x[32:])
	}
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // tor removed it meanwhile
		}
		require.NoError(t, err)
		files++
		for i, n := range needles {
			require.False(t, bytes.Contains(b, n), "key %d form %d in %s", i/9, i%9, p)
		}
		return nil
	})
	require.NoError(t, err)
	require.Positive(t, files)
}

func TestRealTor_ExitsWhenItsOwnerDies(t *testing.T) {
	t.Parallel() // tor looks for its owner every 15 s
	owner := exec.Command("sleep", "60")
	require.NoError(t, owner.Start())
	tr, _ := startReal(t, Config{OwnerPID: owner.Process.Pid})
	pid := tr.PID()
	require.NoError(t, owner.Process.Kill())
	_ = owner.Wait() // reaped: tor sees no such process
	start := time.Now()
	select {
	case <-tr.Done():
	case <-time.After(40 * time.Second):
		t.Fatal("tor outlived its owner")
	}
	t.Logf("tor exited %v after its owner died", time.Since(start))
	require.False(t, alive(pid))
	require.ErrorContains(t, tr.Err(), "Owning controller process has vanished")
	require.NotErrorIs(t, tr.Err(), ErrClosed)
}

func TestRealTor_BadConfigQuotesTor(t *testing.T) {
	bin, err := Find("")
	require.NoError(t, err)
	_, err = Start(context.Background(), Config{Binary: bin, DataDir: t.TempDir(), Extra: []string{"NoSuchOption 1"}})
	require.ErrorContains(t, err, "exited during start")
	require.ErrorContains(t, err, "Unknown option 'NoSuchOption'")
	t.Logf("%v", err)

	_, err = Start(context.Background(), Config{Binary: bin, DataDir: t.TempDir(), Extra: []string{"DisableNetwork 1"}})
	require.ErrorContains(t, err, "opened no SOCKS port")
}

func TestRealTor_DataDirOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the directory away")
	}
	bin, err := Find("")
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chown(dir, 65534, 65534))
	_, err = Start(context.Background(), Config{Binary: bin, DataDir: dir, Extra: noNetwork})
	require.Error(t, err)
	require.ErrorContains(t, err, "is not owned by this user")
	t.Logf("%v", err)
}

func TestRealTor_SecondTorOnTheSameDataDir(t *testing.T) {
	t.Parallel() // the second tor waits 5 s for the lock
	dir := t.TempDir()
	first, _ := startReal(t, Config{DataDir: dir})
	bin, _ := Find("")
	_, err := Start(context.Background(), Config{Binary: bin, DataDir: dir, Extra: noNetwork})
	require.ErrorContains(t, err, "another Tor process is running with the same data directory")
	t.Logf("%v", err)
	// The first one is unharmed.
	_, err = first.AddOnion(context.Background(), mustKey(t, rfc8032Seed), 80, "127.0.0.1:1")
	require.NoError(t, err)
	require.Nil(t, first.Err())
}
