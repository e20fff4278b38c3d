//go:build tor

package tortest

import (
	"bufio"
	"context"
	"crypto/sha512"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// expandedKey is the form of an onion key that tor's ADD_ONION takes: the
// SHA-512 of the seed, clamped as ed25519 does.
func expandedKey(seed []byte) []byte {
	h := sha512.Sum512(seed)
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return h[:]
}

// capture records every TCP connection attempt on the loopback interface
// (tshark: SYN without ACK) and, by polling ss, which process owns each
// port, so that check can tell who connected to whom.
type capture struct {
	cancel context.CancelFunc
	done   sync.WaitGroup

	mu     sync.Mutex
	syns   [][2]int       // source port, destination port
	owners map[int]string // port -> process name, from ss
	pids   map[int]string // port -> "name pid"
}

var ssUser = regexp.MustCompile(`users:\(\("([^"]+)",pid=(\d+)`)

func startCapture(t *testing.T, dir string) *capture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &capture{cancel: cancel, owners: map[int]string{}, pids: map[int]string{}}
	t.Cleanup(cancel)

	tshark := exec.CommandContext(ctx, "tshark", "-i", "lo", "-n", "-l",
		"-f", "tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0",
		"-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport")
	out, err := tshark.StdoutPipe()
	require.NoError(t, err)
	stderrPath := filepath.Join(dir, "tshark.log")
	ef, err := os.Create(stderrPath)
	require.NoError(t, err)
	tshark.Stderr = ef
	require.NoError(t, tshark.Start(), "tshark is needed for the capture (make deps installs it)")
	c.done.Add(2)
	go func() {
		defer c.done.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			src, _ := strconv.Atoi(f[0])
			dst, _ := strconv.Atoi(f[1])
			c.mu.Lock()
			c.syns = append(c.syns, [2]int{src, dst})
			c.mu.Unlock()
		}
		_ = tshark.Wait()
		ef.Close()
	}()
	// tshark says when it captures.
	for i := 0; i < 100; i++ {
		b, _ := os.ReadFile(stderrPath)
		if strings.Contains(string(b), "Capturing on") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	go func() {
		defer c.done.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			c.poll()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return c
}

// poll records the owner of every local TCP port now in use.
func (c *capture) poll() {
	out, err := exec.Command("ss", "-tanpH").Output()
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		m := ssUser.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		local := f[3]
		port, err := strconv.Atoi(local[strings.LastIndexByte(local, ':')+1:])
		if err != nil {
			continue
		}
		c.owners[port] = m[1]
		c.pids[port] = m[1] + " " + m[2]
	}
}

// check stops the capture and asserts that every connection to the
// listener at port came from a tor, and that SecureChat's own processes
// connected to nothing but tor.
func (c *capture) check(t *testing.T, port int) {
	time.Sleep(500 * time.Millisecond) // the last packets
	c.cancel()
	c.done.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	self := filepath.Base(os.Args[0])
	if len(self) > 15 {
		self = self[:15] // the kernel's comm
	}
	toListener, fromApps, unknown := 0, 0, 0
	for _, s := range c.syns {
		src, dst := c.owners[s[0]], c.owners[s[1]]
		if s[1] == port {
			toListener++
			assert.Equal(t, "tor", src, "a connection to the listener came from %q (port %d), not from a tor", c.pids[s[0]], s[0])
		}
		if src == self {
			fromApps++
			assert.Equal(t, "tor", dst, "a SecureChat process connected to %q (port %d), not to its tor", c.pids[s[1]], s[1])
		}
		if src == "" {
			unknown++
		}
	}
	t.Logf("capture: %d connection attempts on loopback; %d to Alice's listener (all from tor), %d from the SecureChat processes (all to their tor); %d from ports ss did not see in time",
		len(c.syns), toListener, fromApps, unknown)
	assert.NotZero(t, toListener, "the capture saw the onion service's connections to the listener")
	assert.NotZero(t, fromApps, "the capture saw the SecureChat processes' connections to tor")
}
