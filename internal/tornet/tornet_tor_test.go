//go:build tor

package tornet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/proxy"
)

// TestNetwork_OnionRoundTrip starts the default network, then a tor that
// joins it with Network.Torrc as a client and an onion service (a TCP
// echo server of the test), and carries a round trip through the onion
// address over the client's SOCKS port. It checks that every tor's sockets
// stay on 127.0.0.1, and that Close leaves no process behind.
func TestNetwork_OnionRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 75*time.Second)
	defer cancel()
	began := time.Now()
	dir := t.TempDir()

	n, err := Start(ctx, dir, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	consensusAt := time.Since(began)
	t.Logf("network: %d tors, consensus lists every relay after %s", len(n.PIDs), consensusAt.Round(time.Millisecond))
	require.Len(t, n.PIDs, 4)
	require.Len(t, n.Ports, 5, "4 ORPorts and the authority's DirPort")
	require.Contains(t, n.Torrc, "TestingTorNetwork 1")

	echo := startEcho(t)
	c := startJoiner(t, n, filepath.Join(dir, "client"), echo)
	onion := c.onion(t, ctx)

	require.NoError(t, c.waitBootstrapped(ctx))
	bootstrapped := time.Since(began)
	t.Logf("client+service: bootstrapped %s after the consensus", (bootstrapped - consensusAt).Round(time.Millisecond))

	uploaded, err := c.waitUploaded(ctx, onion)
	require.NoError(t, err)
	uploadedAt := time.Since(began)
	t.Logf("service: descriptor uploaded to %s %s after the consensus", uploaded, (uploadedAt - consensusAt).Round(time.Millisecond))

	tries, err := roundTrip(ctx, c.socks, onion+":80")
	require.NoError(t, err)
	t.Logf("round trip through %s: %s after the upload (%d tries), %s after the consensus, %s in all",
		onion, (time.Since(began) - uploadedAt).Round(time.Millisecond), tries,
		(time.Since(began) - consensusAt).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	assertLoopbackOnly(t, append(slices.Clone(n.PIDs), c.proc.PID()))

	c.proc.stop()
	require.NoError(t, n.Close())
	require.NoError(t, n.Close(), "a second Close")
	for _, pid := range append(slices.Clone(n.PIDs), c.proc.PID()) {
		assert.False(t, processExists(pid), "tor %d still runs after Close", pid)
	}
}

// TestStart_TwoNetworksInParallel starts two networks at the same time:
// they get disjoint ports and both come up.
func TestStart_TwoNetworksInParallel(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	began := time.Now()
	var (
		nets [2]*Network
		errs [2]error
		took [2]time.Duration
		wg   sync.WaitGroup
	)
	for i := range nets {
		wg.Go(func() {
			nets[i], errs[i] = Start(ctx, t.TempDir(), Options{})
			took[i] = time.Since(began)
		})
	}
	wg.Wait()
	for i := range nets {
		if nets[i] != nil {
			t.Cleanup(func() { _ = nets[i].Close() })
		}
		require.NoError(t, errs[i], "network %d", i)
	}
	t.Logf("two networks ready after %s and %s", took[0].Round(time.Millisecond), took[1].Round(time.Millisecond))
	for _, p := range nets[0].Ports {
		assert.NotContains(t, nets[1].Ports, p, "port %d in both networks", p)
	}
	for _, p := range nets[0].PIDs {
		assert.NotContains(t, nets[1].PIDs, p)
	}
	for _, n := range nets {
		require.NoError(t, n.Close())
		for _, pid := range n.PIDs {
			assert.False(t, processExists(pid), "tor %d still runs after Close", pid)
		}
	}
}

// TestStart_ThreeAuthoritiesOneRelay: the other size the notes found to
// work comes up, with a DirAuthority line per authority for joining tors.
func TestStart_ThreeAuthoritiesOneRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	began := time.Now()
	n, err := Start(ctx, t.TempDir(), Options{Authorities: 3, Relays: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	t.Logf("3 authorities + 1 relay ready after %s", time.Since(began).Round(time.Millisecond))
	assert.Len(t, n.PIDs, 4)
	assert.Len(t, n.Ports, 7, "4 ORPorts and 3 DirPorts")
	var dirAuths int
	for _, line := range n.Torrc {
		if strings.HasPrefix(line, "DirAuthority ") {
			dirAuths++
		}
	}
	assert.Equal(t, 3, dirAuths)
	require.NoError(t, n.Close())
}

// TestStart_DeadlineStopsEverything gives Start too little time: it fails
// saying what it waited for, quoting the tors' logs, and leaves no tor.
func TestStart_DeadlineStopsEverything(t *testing.T) {
	// Keys made beforehand (Start reuses them), so that the deadline falls
	// while Start waits for the consensus, whatever ran before.
	torBin, gencert, err := findBinaries()
	require.NoError(t, err)
	warm := plan(t.TempDir(), Options{Authorities: 1})[:1]
	require.NoError(t, os.Mkdir(warm[0].dir, 0o700))
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	require.NoError(t, makeAuthorityKeys(t.Context(), warm, torBin, gencert, empty))

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	dir := t.TempDir()
	n, err := Start(ctx, dir, Options{})
	require.Error(t, err)
	require.Nil(t, n)
	t.Logf("Start's error, abridged:\n%.900s", err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "waiting for a consensus listing every relay")
	assert.Contains(t, err.Error(), "relay3:", "the relays' logs are quoted")
	if runtime.GOOS == "linux" {
		assert.Empty(t, processesUnder(t, dir), "tors left running after a failed Start")
	}
}

// TestStartTor_ConfigErrorQuotesTor: a tor that refuses its configuration
// exits, and the error quotes tor's own words.
func TestStartTor_ConfigErrorQuotesTor(t *testing.T) {
	dir := t.TempDir()
	torBin, _, err := findBinaries()
	require.NoError(t, err)
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	torrc := filepath.Join(dir, "torrc")
	require.NoError(t, os.WriteFile(torrc, []byte("Log notice stdout\nDataDirectory "+quote(dir)+
		"\nDisableNetwork 1\nSocksPort 0\nNoSuchOption 1\n"), 0o600))
	p, err := startTor(torBin, "bad", torrc, empty, dir, nil)
	require.NoError(t, err)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.stop()
		t.Fatal("tor accepted an unknown option")
	}
	err = p.exitError()
	assert.Contains(t, err.Error(), `Unknown option 'NoSuchOption'`)
	assert.Contains(t, err.Error(), "bad exited: exit status 1")
}

var update = flag.Bool("update", false, "write testdata/consensus-*.txt anew from a real network")

// TestConsensusVectors checks that what our authority serves parses, and
// with -update writes it to testdata for the untagged parser tests.
func TestConsensusVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to write testdata anew (the round-trip test parses a live consensus already)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	n, err := Start(ctx, t.TempDir(), Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, n.Close()) }()
	for flavour, name := range map[string]string{"consensus": "consensus-ns", "consensus-microdesc": "consensus-microdesc"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			"http://127.0.0.1:"+strconv.Itoa(n.nodes[0].dirPort)+"/tor/status-vote/current/"+flavour, nil)
		require.NoError(t, err)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := dirClient.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.NoError(t, err)
		_, err = parseConsensus(b)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("testdata", name+".txt"), b, 0o644))
	}
}

// waitLine waits until p's log has a line containing s and returns it, or
// fails when p exits or ctx ends.
func (p *torProc) waitLine(ctx context.Context, s string) (string, error) {
	for {
		line, ok, changed := p.log.find(s)
		if ok {
			return line, nil
		}
		select {
		case <-changed:
		case <-p.done:
			if line, ok, _ := p.log.find(s); ok {
				return line, nil
			}
			return "", p.exitError()
		case <-ctx.Done():
			return "", fmt.Errorf("tornet: %s: waiting for %q: %w; its last log lines:\n%s",
				p.name, s, context.Cause(ctx), p.log.quote(10))
		}
	}
}

// joiner is a tor of the test that joins a network as a client and serves
// an onion service.
type joiner struct {
	proc    *torProc
	dir     string
	socks   string
	control string
}

// startJoiner starts a tor in dir with the network's Torrc, a SOCKS port
// and a control port on 127.0.0.1, and an onion service whose port 80 goes
// to target.
func startJoiner(t *testing.T, n *Network, dir, target string) *joiner {
	t.Helper()
	torBin, _, err := findBinaries()
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(dir, 0o700))
	hs := filepath.Join(dir, "hs")
	require.NoError(t, os.Mkdir(hs, 0o700))
	ports, err := freePorts(2)
	require.NoError(t, err)
	j := &joiner{
		dir:     dir,
		socks:   "127.0.0.1:" + strconv.Itoa(ports[0]),
		control: "127.0.0.1:" + strconv.Itoa(ports[1]),
	}
	empty := filepath.Join(n.Dir, "empty-defaults-torrc")
	lines := []string{
		"DataDirectory " + quote(dir),
		"Log notice stdout",
		"LogTimeGranularity 1",
		"SafeLogging 0",
		"__OwningControllerProcess " + strconv.Itoa(os.Getpid()),
		"GeoIPFile " + quote(empty),
		"GeoIPv6File " + quote(empty),
		"SocksPort " + j.socks,
		"ControlPort " + j.control,
		"CookieAuthentication 1",
		"HiddenServiceDir " + quote(hs),
		"HiddenServicePort 80 " + target,
	}
	lines = append(lines, n.Torrc...)
	torrc := filepath.Join(dir, "torrc")
	require.NoError(t, os.WriteFile(torrc, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	log, err := os.Create(filepath.Join(dir, "tor.log"))
	require.NoError(t, err)
	j.proc, err = startTor(torBin, "client", torrc, empty, dir, log)
	require.NoError(t, err)
	t.Cleanup(func() {
		j.proc.stop()
		_ = log.Close()
		if t.Failed() {
			t.Logf("the client's log:\n%s", j.proc.log.quote(40))
		}
	})
	return j
}

// onion waits for tor to write the service's address.
func (j *joiner) onion(t *testing.T, ctx context.Context) string {
	t.Helper()
	path := filepath.Join(j.dir, "hs", "hostname")
	for {
		b, err := os.ReadFile(path)
		if err == nil && bytes.HasSuffix(bytes.TrimSpace(b), []byte(".onion")) {
			return string(bytes.TrimSpace(b))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no onion address in %s: %v", path, context.Cause(ctx))
		case <-j.proc.done:
			t.Fatal(j.proc.exitError())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (j *joiner) waitBootstrapped(ctx context.Context) error {
	_, err := j.proc.waitLine(ctx, "Bootstrapped 100%")
	return err
}

// waitUploaded waits, on the control port, for the first HS_DESC UPLOADED
// event of the service, and returns the HSDir it names.
func (j *joiner) waitUploaded(ctx context.Context, onion string) (string, error) {
	cookie, err := os.ReadFile(filepath.Join(j.dir, "control_auth_cookie"))
	if err != nil {
		return "", err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp4", j.control)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	r := bufio.NewReader(io.LimitReader(conn, 1<<20))
	cmd := func(line string) error {
		if _, err := io.WriteString(conn, line+"\r\n"); err != nil {
			return err
		}
		reply, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(reply, "250 ") {
			return fmt.Errorf("control: %s: %q", strings.Fields(line)[0], reply)
		}
		return nil
	}
	if err := cmd("AUTHENTICATE " + hex.EncodeToString(cookie)); err != nil {
		return "", err
	}
	if err := cmd("SETEVENTS HS_DESC"); err != nil {
		return "", err
	}
	id := strings.TrimSuffix(onion, ".onion")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("waiting for HS_DESC UPLOADED: %w", context.Cause(ctx))
			}
			return "", err
		}
		// 650 HS_DESC UPLOADED <id> <auth type> <hsdir> ...
		f := strings.Fields(line)
		if len(f) >= 6 && f[0] == "650" && f[1] == "HS_DESC" && f[2] == "UPLOADED" && f[3] == id {
			return f[5], nil
		}
	}
}

// socksCode finds the SOCKS reply code in an error of x/net/proxy
// ("unknown error unknown code: 240"; tor's onion service codes 0xF0 to
// 0xF7 are not in RFC 1928).
var socksCode = regexp.MustCompile(`unknown code: (\d+)`)

// roundTrip dials addr through the SOCKS proxy at socks and checks that
// what it writes comes back. Right after the descriptor upload tor may
// answer 0xF0 (descriptor not found) for a moment: that is retried for
// 10 s. It returns the number of dials.
func roundTrip(ctx context.Context, socks, addr string) (int, error) {
	d, err := proxy.SOCKS5("tcp", socks, nil, &net.Dialer{})
	if err != nil {
		return 0, err
	}
	cd := d.(proxy.ContextDialer)
	retryUntil := time.Now().Add(10 * time.Second)
	for tries := 1; ; tries++ {
		conn, err := cd.DialContext(ctx, "tcp", addr)
		if err != nil {
			m := socksCode.FindStringSubmatch(err.Error())
			if m != nil && m[1] == "240" && time.Now().Before(retryUntil) && ctx.Err() == nil {
				time.Sleep(500 * time.Millisecond)
				continue
			}
			return tries, fmt.Errorf("dial %s via %s (try %d): %w", addr, socks, tries, err)
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		msg := make([]byte, 32)
		_, _ = rand.Read(msg)
		if _, err := conn.Write(msg); err != nil {
			return tries, fmt.Errorf("write through the onion service: %w", err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, got); err != nil {
			return tries, fmt.Errorf("read through the onion service: %w", err)
		}
		if !bytes.Equal(got, msg) {
			return tries, errors.New("the echo came back different")
		}
		return tries, nil
	}
}

// startEcho serves a TCP echo on 127.0.0.1 and returns its address.
func startEcho(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { _ = c.Close() }()
				_, _ = io.Copy(c, c)
			})
		}
	})
	return l.Addr().String()
}

// assertLoopbackOnly checks, from /proc (Linux), that every TCP and UDP
// socket of the processes is bound to and connected to 127.0.0.1 only.
func assertLoopbackOnly(t *testing.T, pids []int) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Log("not Linux: the sockets' addresses are not checked")
		return
	}
	inodes := map[string]int{} // socket inode -> pid
	for _, pid := range pids {
		fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
		require.NoError(t, err)
		for _, fd := range fds {
			link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd.Name())
			if err == nil && strings.HasPrefix(link, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = pid
			}
		}
	}
	checked := 0
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile("/proc/net/" + table)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) < 10 || f[0] == "sl" {
				continue
			}
			pid, ours := inodes[f[9]]
			if !ours {
				continue
			}
			checked++
			local, remote := procAddr(f[1]), procAddr(f[2])
			assert.True(t, strings.HasPrefix(local, "127.0.0.1:"), "tor %d: %s socket on %s", pid, table, local)
			assert.True(t, strings.HasPrefix(remote, "127.0.0.1:") || strings.HasPrefix(remote, "0.0.0.0:"),
				"tor %d: %s socket %s connected to %s", pid, table, local, remote)
		}
	}
	t.Logf("%d sockets of %d tors, all on 127.0.0.1", checked, len(pids))
	assert.NotZero(t, checked)
}

// procAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080"
// (IPv6 addresses, 32 hex digits, as "[hex]:port" unless v4-mapped).
func procAddr(s string) string {
	h, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil {
		return s
	}
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return s
	}
	// Each 32-bit word is in host (little-endian) order.
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	ip := net.IP(b)
	if v4 := ip.To4(); v4 != nil {
		return v4.String() + ":" + strconv.Itoa(int(port))
	}
	return "[" + ip.String() + "]:" + strconv.Itoa(int(port))
}

// processesUnder lists the processes (Linux) whose command line names a
// path under dir: the tors of a network in dir.
func processesUnder(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(dir)) {
			found = append(found, e.Name()+": "+string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	}
	return found
}
