package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/securechat/securechat/internal/tornet"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tor"
	"github.com/securechat/securechat/tormode"
)

// GroupTor is Tor mode on a private Tor network of 127.0.0.1
// (internal/tornet, started once for the group): the time from starting
// Tor mode to connected and to reachable, a round trip and a handshake
// through onion services against the same on a direct loopback connection,
// the tor process's memory and CPU time, and that it is gone once Tor mode
// is closed.
const GroupTor = "tor"

// torStartTimeout bounds one start of Tor mode to reachable. On the private
// network it takes seconds; a tor that needs longer is reported as a failure.
const torStartTimeout = 90 * time.Second

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100

// torStart is one start of Tor mode.
type torStart struct {
	ready     time.Duration // Start to State Ready: connected to the Tor network
	reachable time.Duration // Start to Reachable: our onion service's descriptor uploaded (0: not published)
	cpu       time.Duration // tor's CPU time (user + system) when reachable: the whole start
	rssKiB    int64         // tor's VmRSS when reachable
	hwmKiB    int64         // tor's VmHWM when reachable
	procErr   error         // /proc could not be read (not Linux)
}

// torStop is one Close of Tor mode.
type torStop struct {
	took  time.Duration // Mode.Close
	gone  bool          // the tor process no longer exists afterwards
	state string        // what /proc says of it when not gone
}

// torResults is what the group measured; torRows turns it into rows.
type torResults struct {
	network    time.Duration // tornet.Start
	cold       []torStart    // fresh data directory each
	warm       torStart      // the last cold start's data directory again
	idle       time.Duration // the wait after reachable
	idleRSS    int64         // tor's VmRSS after it (KiB)
	idleHWM    int64         // tor's VmHWM after it (KiB)
	idleCPU    time.Duration // tor's CPU time during it
	idleErr    error         // /proc could not be read
	selfRSS    int64         // this bench process's VmRSS then (KiB)
	firstHS    time.Duration // the first handshake through Tor
	hsTor      samples       // later handshakes through Tor
	hsDirect   samples       // direct loopback handshakes, interleaved with hsTor
	rttTor     samples       // round trips through Tor
	rttDirect  samples       // direct loopback round trips, interleaved with rttTor
	stops      []torStop     // every Close of Tor mode in the group
	torVersion string
}

// procStatusKiB reads "Key: N kB" fields of a /proc/PID/status text.
func procStatusKiB(status string, keys ...string) ([]int64, error) {
	out := make([]int64, len(keys))
	found := make([]bool, len(keys))
	for l := range strings.Lines(status) {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		for i, want := range keys {
			if k != want {
				continue
			}
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return nil, fmt.Errorf("bad %s line %q", k, strings.TrimSpace(l))
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad %s line %q", k, strings.TrimSpace(l))
			}
			out[i], found[i] = n, true
		}
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("no %s in the process status", keys[i])
		}
	}
	return out, nil
}

// procStat is what the group reads of /proc/PID/stat.
type procStat struct {
	state string        // R, S, Z, ...
	cpu   time.Duration // utime + stime
	start uint64        // starttime, in clock ticks since boot: tells a reused PID
}

// parseProcStat parses a /proc/PID/stat line. The command name (field 2)
// may hold spaces and parentheses, so the fields are counted from the last
// ')'.
func parseProcStat(line string) (procStat, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("bad stat line %q", line)
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("bad stat line %q", line)
	}
	var n [3]uint64
	for j, field := range []int{14, 15, 22} { // utime, stime, starttime
		v, err := strconv.ParseUint(f[field-3], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("bad stat line %q", line)
		}
		n[j] = v
	}
	return procStat{state: f[0], cpu: time.Duration(n[0]+n[1]) * time.Second / clockTicks, start: n[2]}, nil
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(b))
}

func readProcStatus(pid int, keys ...string) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	return procStatusKiB(string(b), keys...)
}

// torUsage reads a tor process's CPU time and resident memory.
func torUsage(pid int) (cpu time.Duration, rss, hwm int64, err error) {
	if pid == 0 {
		return 0, 0, 0, errors.New("no tor process")
	}
	st, err := readProcStat(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	kib, err := readProcStatus(pid, "VmRSS", "VmHWM")
	if err != nil {
		return 0, 0, 0, err
	}
	return st.cpu, kib[0], kib[1], nil
}

// startTorMode starts Tor mode in dataDir and waits until it is connected
// and, when port is not 0, reachable at its onion address (the onion
// service forwarding port is published at once, as a front end that
// listens does).
func startTorMode(cfg tormode.Config, port int) (*tormode.Mode, torStart, error) {
	var s torStart
	began := time.Now()
	m := tormode.Start(cfg)
	ch := m.Watch()
	if port != 0 {
		m.Publish(port)
	}
	timeout := time.NewTimer(torStartTimeout)
	defer timeout.Stop()
	for s.ready == 0 || (port != 0 && s.reachable == 0) {
		select {
		case st, ok := <-ch:
			if !ok {
				m.Close()
				return nil, s, errors.New("tor mode stopped during its start")
			}
			if st.State == tormode.Failed {
				m.Close()
				return nil, s, fmt.Errorf("tor mode failed: %w", st.Err)
			}
			if s.ready == 0 && st.State == tormode.Ready {
				s.ready = time.Since(began)
			}
			if s.reachable == 0 && st.Reachable {
				s.reachable = time.Since(began)
			}
		case <-timeout.C:
			st := m.Status()
			m.Close()
			what := "connected"
			if s.ready != 0 {
				what = "reachable"
			}
			return nil, s, fmt.Errorf("tor mode not %s within %v (%s, %d%% %s)",
				what, torStartTimeout, st.State, st.Progress.Percent, st.Progress.Summary)
		}
	}
	s.cpu, s.rssKiB, s.hwmKiB, s.procErr = torUsage(m.PID())
	return m, s, nil
}

// stopTorMode closes Tor mode and checks that its tor process is gone.
func stopTorMode(m *tormode.Mode) torStop {
	pid := m.PID()
	before, err := readProcStat(pid)
	began := time.Now()
	m.Close()
	s := torStop{took: time.Since(began)}
	if pid == 0 || err != nil {
		s.state = "its process could not be read before Close"
		return s
	}
	after, err := readProcStat(pid)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.gone = true
	case err != nil:
		s.state = err.Error()
	case after.start != before.start:
		s.gone = true // the PID was reused by another process
	default:
		s.state = "state " + after.state
	}
	return s
}

// freeLoopbackPort returns a TCP port of 127.0.0.1 free at the moment.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// hostAt starts a listening session at addr.
func hostAt(cfg session.Config, addr string) (*driver, error) {
	s, err := session.Host(cfg, addr)
	if err != nil {
		return nil, err
	}
	d := drive(s)
	if _, err := wait(d, d.listening, "listening event"); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// joinHost connects a new session to the host h listening at addr; the
// pair it makes closes h too.
func joinHost(h *driver, addr string, cfg session.Config) (*chatPair, error) {
	s, err := session.Connect(cfg, addr)
	if err != nil {
		return nil, err
	}
	c := drive(s)
	if _, err := wait(c, c.connected, "connected event"); err != nil {
		c.close()
		return nil, err
	}
	if _, err := wait(h, h.connected, "host's connected event"); err != nil {
		c.close()
		return nil, err
	}
	return &chatPair{host: h, conn: c}, nil
}

// torMissing says why the group cannot run, or "" when tor and
// tor-gencert (which internal/tornet needs for the authority's keys) are
// installed.
func torMissing() string {
	bin, err := tor.Find("")
	if err != nil {
		return "no tor program found (Debian: apt-get install tor)"
	}
	if _, err := exec.LookPath("tor-gencert"); err == nil {
		return ""
	}
	for _, d := range []string{filepath.Dir(bin), "/usr/bin", "/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin"} {
		if st, err := os.Stat(filepath.Join(d, "tor-gencert")); err == nil && !st.IsDir() {
			return ""
		}
	}
	return "no tor-gencert program found, which the private Tor network needs (Debian's tor package has it)"
}

// torVersion is tor's first line of --version, "" if it says nothing.
func torVersion() string {
	bin, err := tor.Find("")
	if err != nil {
		return ""
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSuffix(strings.TrimSpace(line), ".")
}

func (r *runner) tor() error {
	if why := torMissing(); why != "" {
		r.rep.add(torMissingRow(why))
		return nil
	}
	ids, err := r.identities()
	if err != nil {
		return err
	}
	res := torResults{idle: r.o.TorIdle, torVersion: torVersion()}
	netDir, err := os.MkdirTemp(r.dir, "tornet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(netDir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	tn, err := tornet.Start(ctx, filepath.Join(netDir, "net"), tornet.Options{})
	if err != nil {
		return fmt.Errorf("private Tor network: %w", err)
	}
	defer tn.Close()
	res.network = time.Since(began)
	r.logf(" network %v,", res.network.Round(100*time.Millisecond))

	aliceKey, err := tor.NewOnionKey(nil)
	if err != nil {
		return err
	}
	bobKey, err := tor.NewOnionKey(nil)
	if err != nil {
		return err
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	// Every Mode still open is closed on the way out (failures included);
	// the ones closed on purpose are checked and counted.
	running := map[*tormode.Mode]bool{}
	defer func() {
		for m := range running {
			m.Close()
		}
	}()
	start := func(dir string, key tor.OnionKey, port int) (*tormode.Mode, torStart, error) {
		m, s, err := startTorMode(tormode.Config{DataDir: dir, OnionKey: key, Extra: tn.Torrc}, port)
		if err == nil {
			running[m] = true
		}
		return m, s, err
	}
	stop := func(m *tormode.Mode) {
		delete(running, m)
		res.stops = append(res.stops, stopTorMode(m))
	}

	// Cold starts of Alice's Tor mode: the same onion key (the profile's),
	// a fresh data directory each time. The last one stays for the idle
	// reading.
	var alice *tormode.Mode
	var aliceDir string
	for i := range r.o.TorStarts {
		dir, err := os.MkdirTemp(netDir, "alice-")
		if err != nil {
			return err
		}
		m, s, err := start(dir, aliceKey, port)
		if err != nil {
			return fmt.Errorf("cold start %d: %w", i+1, err)
		}
		res.cold = append(res.cold, s)
		r.logf(" cold %v/%v,", s.ready.Round(10*time.Millisecond), s.reachable.Round(10*time.Millisecond))
		if i < r.o.TorStarts-1 {
			stop(m)
		} else {
			alice, aliceDir = m, dir
		}
	}

	// Idle: tor's memory and CPU time after the wait, with nothing to do.
	cpu0 := res.cold[len(res.cold)-1].cpu
	time.Sleep(res.idle)
	cpu1, rss, hwm, err := torUsage(alice.PID())
	if err == nil && res.cold[len(res.cold)-1].procErr == nil {
		res.idleCPU, res.idleRSS, res.idleHWM = cpu1-cpu0, rss, hwm
	} else {
		res.idleErr = errors.Join(err, res.cold[len(res.cold)-1].procErr)
	}
	if kib, err := readProcStatus(os.Getpid(), "VmRSS"); err == nil {
		res.selfRSS = kib[0]
	}

	// A warm start: the same data directory again.
	stop(alice)
	alice, res.warm, err = start(aliceDir, aliceKey, port)
	if err != nil {
		return fmt.Errorf("warm start: %w", err)
	}
	r.logf(" warm %v/%v,", res.warm.ready.Round(10*time.Millisecond), res.warm.reachable.Round(10*time.Millisecond))

	// Bob's Tor mode dials; it publishes nothing.
	bobDir, err := os.MkdirTemp(netDir, "bob-")
	if err != nil {
		return err
	}
	bob, _, err := start(bobDir, bobKey, 0)
	if err != nil {
		return fmt.Errorf("the dialing side's Tor mode: %w", err)
	}

	// Alice listens on 127.0.0.1 for her onion service only, as the app in
	// Tor-only mode does; a second Alice listens directly on loopback. The
	// sessions close before the Modes.
	var hosts []*driver
	var pairs []*chatPair
	closeSessions := func() {
		for _, p := range pairs {
			p.close()
		}
		for _, h := range hosts {
			h.close()
		}
		pairs, hosts = nil, nil
	}
	defer closeSessions()
	torHost, err := hostAt(session.Config{Identity: ids[0], Name: "Alice", OnionDialer: alice.Dial, TorOnly: true},
		net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	hosts = append(hosts, torHost)
	directHost, directAddr, err := host(session.Config{Identity: ids[0], Name: "Alice"})
	if err != nil {
		return err
	}
	hosts = append(hosts, directHost)
	onionAddr := net.JoinHostPort(alice.Onion(), strconv.Itoa(port))
	bobTor := session.Config{Identity: ids[1], Name: "Bob", OnionDialer: bob.Dial, TorOnly: true}
	bobDirect := session.Config{Identity: ids[1], Name: "Bob"}

	// The first handshake also fetches the descriptor and builds the
	// introduction and rendezvous circuits; the later ones find them made.
	if res.firstHS, err = handshake(torHost, onionAddr, bobTor); err != nil {
		return fmt.Errorf("first handshake through Tor: %w", err)
	}
	hs, err := interleave(r.o.TorHandshakes,
		func() (time.Duration, error) { return handshake(torHost, onionAddr, bobTor) },
		func() (time.Duration, error) { return handshake(directHost, directAddr, bobDirect) },
	)
	if err != nil {
		return err
	}
	res.hsTor, res.hsDirect = hs[0], hs[1]

	// A pair closes its host: the hosts move into the pairs.
	hosts = nil
	torPair, err := joinHost(torHost, onionAddr, bobTor)
	if err != nil {
		torHost.close()
		directHost.close()
		return err
	}
	pairs = append(pairs, torPair)
	directPair, err := joinHost(directHost, directAddr, bobDirect)
	if err != nil {
		directHost.close()
		return err
	}
	pairs = append(pairs, directPair)
	text := strings.Repeat("x", rttSize)
	rtt, err := interleave(r.o.TorRounds,
		func() (time.Duration, error) { return torPair.roundTrip(text) },
		func() (time.Duration, error) { return directPair.roundTrip(text) },
	)
	if err != nil {
		return err
	}
	res.rttTor, res.rttDirect = rtt[0], rtt[1]

	closeSessions()
	stop(bob)
	stop(alice)
	for _, row := range torRows(res) {
		r.rep.add(row)
	}
	return nil
}

// torFloor is what every timing note of the group says.
const torFloor = "a private Tor network on 127.0.0.1 (no real latency), so a floor, not what users of the real Tor network see"

// torMissingRow stands for the group's rows when tor cannot run here.
func torMissingRow(why string) Row {
	return Row{Name: "Tor mode", Ours: "—", Note: "not measured: " + why}
}

// fmtCPU prints a CPU time read in 1/100 s ticks.
func fmtCPU(d time.Duration) string {
	if d == 0 {
		return "0 s (< 10 ms)"
	}
	return fmtDur(d)
}

// spread lists samples in the order they were taken.
func spread(s samples) string {
	var out []string
	for _, d := range s {
		out = append(out, fmtDur(d))
	}
	return strings.Join(out, ", ")
}

// torRows turns the group's measurements into the table's rows.
func torRows(res torResults) []Row {
	var ready, reachable, toReachable, cpu samples
	var rss, hwm []int64
	var procErr error
	for _, s := range res.cold {
		ready = append(ready, s.ready)
		reachable = append(reachable, s.reachable)
		toReachable = append(toReachable, s.reachable-s.ready)
		if s.procErr != nil {
			procErr = s.procErr
			continue
		}
		cpu = append(cpu, s.cpu)
		rss = append(rss, s.rssKiB)
		hwm = append(hwm, s.hwmKiB)
	}
	version := ""
	if res.torVersion != "" {
		version = "; " + res.torVersion
	}
	var rows []Row
	rows = append(rows, Row{
		Name: "Tor mode: start → connected to Tor, cold", Ours: fmtDur(ready.median()),
		Note: fmt.Sprintf("%d starts of Tor mode, each with a fresh data directory (tor's first start for a profile): %s; "+
			"to State Ready (bootstrap 100%%); on %s: bootstrapping on the real one takes 10-60 s; "+
			"the network (internal/tornet: 1 authority + 3 relays) was started once for the group, in %s%s",
			len(res.cold), spread(ready), torFloor, fmtDur(res.network), version),
	}, Row{
		Name: "Tor mode: start → reachable at its onion address, cold", Ours: fmtDur(reachable.median()),
		Note: fmt.Sprintf("the same starts: %s; reachable is the onion service's descriptor uploaded (Status.Reachable, tor's HS_DESC UPLOADED), "+
			"the service published at once, as the app does when it listens; %s after connected (median)",
			spread(reachable), fmtDur(toReachable.median())),
	}, Row{
		Name: "Tor mode: start → connected / reachable, warm", Ours: fmtDur(res.warm.ready) + " / " + fmtDur(res.warm.reachable),
		Note: "one start in the last cold start's data directory again (tor's state and cached directory information kept), right after its Close",
	})

	rows = append(rows, Row{
		Name: "handshake through Tor: dial .onion to connected", Ours: fmtDur(res.hsTor.median()),
		Peers: "direct loopback " + fmtDur(res.hsDirect.median()),
		Ratio: fmtRatio(float64(res.hsTor.median()) / float64(res.hsDirect.median())),
		Note: fmt.Sprintf("%d handshakes of each kind, interleaved, after a first one through Tor that took %s (Bob's tor fetched the descriptor "+
			"and built the introduction and rendezvous circuits; the later ones find them made); Alice listens on 127.0.0.1, published by her Tor mode, "+
			"Bob dials her onion address through his own, both Tor-only; direct: the same identities, no Tor mode; %s: "+
			"on the real Tor network a first contact takes seconds",
			len(res.hsTor), fmtDur(res.firstHS), torFloor),
	})
	rttRatio := func(q float64) string {
		return fmtRatio(float64(res.rttTor.quantile(q)) / float64(res.rttDirect.quantile(q)))
	}
	rows = append(rows, Row{
		Name: "round trip 100 B through Tor, p50", Ours: fmtDur(res.rttTor.median()),
		Peers: "direct loopback " + fmtDur(res.rttDirect.median()), Ratio: rttRatio(0.5),
		Note: fmt.Sprintf("%d round trips of each kind, interleaved, history off: Send until Delivered through both tors and "+
			"the rendezvous circuit's relays, against the same on a direct loopback connection; %s: "+
			"on the real Tor network a round trip takes about 0.5-2 s", len(res.rttTor), torFloor),
	}, Row{
		Name: "round trip 100 B through Tor, p99", Ours: fmtDur(res.rttTor.quantile(0.99)),
		Peers: "direct loopback " + fmtDur(res.rttDirect.quantile(0.99)), Ratio: rttRatio(0.99),
		Note: fmt.Sprintf("nearest rank: of %d round trips, the %s", len(res.rttTor), slowest(len(res.rttTor)-rank99(len(res.rttTor))+1)),
	})

	memName := fmt.Sprintf("tor process: RSS idle %s after reachable", fmtDur(res.idle))
	cpuName := fmt.Sprintf("tor process: CPU time over the start / idle %s", fmtDur(res.idle))
	if err := errors.Join(res.idleErr, procErr); err != nil {
		why := "not measured: /proc could not be read (Linux only): " + err.Error()
		rows = append(rows, Row{Name: memName, Ours: "—", Note: why}, Row{Name: cpuName, Ours: "—", Note: why})
	} else {
		self := ""
		if res.selfRSS > 0 {
			self = "this bench process " + mib(res.selfRSS)
		}
		rows = append(rows, Row{
			Name: memName, Ours: mib(res.idleRSS), Peers: self,
			Note: fmt.Sprintf("VmRSS from /proc/PID/status of the last cold start's tor (PID from Mode.PID), its onion service published, "+
				"left idle %s after reachable; its peak (VmHWM) %s; at reachable %s (median of the cold starts, peak %s); "+
				"the app idle: see the idle RSS row (the memory group); for scale, this bench process (Go, no session open) read at the same moment",
				fmtDur(res.idle), mib(res.idleHWM), mib(quantile(rss, 0.5)), mib(quantile(hwm, 0.5))),
		}, Row{
			Name: cpuName, Ours: fmtCPU(cpu.median()) + " / " + fmtCPU(res.idleCPU),
			Note: fmt.Sprintf("utime + stime from /proc/PID/stat (1/100 s ticks): from tor's start to reachable, median of the cold starts (%s), "+
				"warm start %s; then during the %s idle, %.2f%% of one core",
				spread(cpu), fmtCPU(res.warm.cpu), fmtDur(res.idle), 100*res.idleCPU.Seconds()/res.idle.Seconds()),
		})
	}

	gone := 0
	var took samples
	var left []string
	for i, s := range res.stops {
		took = append(took, s.took)
		if s.gone {
			gone++
		} else {
			left = append(left, fmt.Sprintf("Close %d: %s", i+1, s.state))
		}
	}
	stopNote := fmt.Sprintf("every Mode.Close of the group (%d cold starts, the warm start, the dialing side's); "+
		"each took %s median, at most %s (tor exits when its owning control connection closes, and is killed after 5 s)",
		len(res.cold), fmtDur(took.median()), fmtDur(took.quantile(1)))
	if len(left) == 0 {
		stopNote += "; afterwards /proc/PID no longer exists: the process is gone and reaped"
	} else {
		stopNote += "; still there after Close: " + strings.Join(left, "; ")
	}
	rows = append(rows, Row{
		Name: "tor stopped when Tor mode closes", Ours: fmt.Sprintf("%d of %d gone", gone, len(res.stops)),
		Target: "gone after Close", Met: verdict(len(res.stops) > 0 && gone == len(res.stops)),
		Note: stopNote,
	})
	return rows
}

// rank99 is the 1-based rank of the p99 of n samples (nearest rank).
func rank99(n int) int { return min(max(int(math.Ceil(0.99*float64(n))), 1), n) }

// slowest names the k-th slowest sample: "slowest", "2nd slowest", ….
func slowest(k int) string {
	suffix := "th"
	switch {
	case k == 1:
		return "slowest"
	case k%10 == 1 && k%100 != 11:
		suffix = "st"
	case k%10 == 2 && k%100 != 12:
		suffix = "nd"
	case k%10 == 3 && k%100 != 13:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s slowest", k, suffix)
}
