// Package tor runs SecureChat's own tor process and talks to it: it starts
// tor with a configuration of its own (never the system's torrc), owns it
// over the control port (tor exits when the control connection closes or the
// owning process dies), reports the bootstrap, publishes onion services from
// keys the application keeps ([OnionKey]), and dials through tor's SOCKS port.
//
// Everything tor sends over the control port is parsed as hostile input
// (bounded lines and replies, one reader goroutine). Secrets (the control
// cookie, onion keys) never appear in errors or logs.
package tor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned by [Find] when there is no tor program to run.
var ErrNotFound = errors.New("tor: no tor program found")

// ErrClosed is what [Tor.Err] says once [Tor.Close] has stopped tor.
var ErrClosed = errors.New("tor: closed")

// killAfter is how long tor has to exit once its control connection is
// closed before it is killed (a variable for a test).
var killAfter = 5 * time.Second

// pollInterval is how often Start looks for tor's control port file.
const pollInterval = 20 * time.Millisecond

// File names in the data directory.
const (
	torrcName        = "torrc"
	defaultsName     = "torrc-defaults"
	controlPortName  = "control-port"
	controlCookieKey = "control_auth_cookie"
)

// Config says how to run tor. Log is written from the goroutine that reads
// tor's output: a Log that blocks stalls tor.
type Config struct {
	Binary   string    // from Find; required
	DataDir  string    // tor's own DataDirectory (created 0700 if missing); required
	OwnerPID int       // __OwningControllerProcess; 0 means os.Getpid()
	Extra    []string  // more torrc lines "Key value" (a private test network's), appended
	Log      io.Writer // tor's notice log (stdout) copied here; nil: kept only in memory
}

// Progress is tor's bootstrap progress (control-spec 4.1.10, BOOTSTRAP).
type Progress struct {
	Percent int    // 0..100
	Tag     string // e.g. "conn_done"
	Summary string // tor's words, e.g. "Connected to a relay"
	Warning string // a BOOTSTRAP WARN's reason, if any
}

// Tor is a running tor process and its control connection.
type Tor struct {
	cmd   *exec.Cmd
	ctl   *controlConn
	socks string
	log   *logTail

	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error         // cmd.Wait's error, set before exited is closed
	done    chan struct{} // closed once tor has exited and Err is set

	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	progress Progress
	progSeq  uint64 // the reply or event progress came from
	watchers []chan Progress
	changed  chan struct{} // closed and replaced on every change below
	onions   map[string]*onion
	closing  bool  // Close was called
	killed   bool  // tor had to be killed
	stopped  bool  // tor has exited; stopErr is set
	stopErr  error // what Err says
}

// onion is an onion service added by AddOnion, by its ServiceID.
type onion struct{ published bool }

// Start launches tor and returns once its control connection is
// authenticated and owns the process (TAKEOWNERSHIP), and the SOCKS port is
// known. It does not wait for the bootstrap. tor gets its own config only:
// `-f <DataDir>/torrc --defaults-torrc <empty file> --ignore-missing-torrc`
// (never /etc/tor/torrc), with DataDirectory, ControlPort auto
// (ControlPortWriteToFile), CookieAuthentication 1 (cookie in DataDir),
// SocksPort auto (with ExtendedErrors, for the onion service error codes),
// __OwningControllerProcess, Log notice stdout, and Extra.
// A tor that exits during start gives an error that quotes its last log
// lines (tor's own words say what went wrong). ctx bounds the start.
//
// Extra must not disable the network (DisableNetwork 1): tor then opens
// no SOCKS port, and Start fails.
func Start(ctx context.Context, cfg Config) (*Tor, error) {
	if cfg.Binary == "" {
		return nil, errors.New("tor: Config.Binary is empty (see Find)")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("tor: Config.DataDir is empty")
	}
	if cfg.OwnerPID < 0 {
		return nil, fmt.Errorf("tor: Config.OwnerPID %d is negative", cfg.OwnerPID)
	}
	for i, l := range cfg.Extra {
		if strings.ContainsAny(l, "\r\n\x00") {
			return nil, fmt.Errorf("tor: Config.Extra line %d has a line break", i+1)
		}
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("tor: data directory: %w", err)
	}
	if strings.ContainsFunc(dir, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("tor: the data directory %q has a control character", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tor: failed to create the data directory: %w", err)
	}
	owner := cfg.OwnerPID
	if owner == 0 {
		owner = os.Getpid()
	}
	torrc := filepath.Join(dir, torrcName)
	defaults := filepath.Join(dir, defaultsName)
	portFile := filepath.Join(dir, controlPortName)
	if err := os.WriteFile(torrc, []byte(torrcText(dir, portFile, owner, cfg.Extra)), 0o600); err != nil {
		return nil, fmt.Errorf("tor: failed to write the torrc: %w", err)
	}
	if err := os.WriteFile(defaults, nil, 0o600); err != nil {
		return nil, fmt.Errorf("tor: failed to write the torrc: %w", err)
	}
	// A file left by a tor that was killed would send us to a dead port.
	if err := os.Remove(portFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tor: failed to remove an old control port file: %w", err)
	}

	lt := &logTail{out: cfg.Log}
	cmd := exec.Command(cfg.Binary, "-f", torrc, "--defaults-torrc", defaults, "--ignore-missing-torrc")
	cmd.Stdout = lt
	cmd.Stderr = lt
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tor: failed to run %s: %w", cfg.Binary, err)
	}
	t := &Tor{
		cmd:     cmd,
		log:     lt,
		exited:  make(chan struct{}),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		onions:  map[string]*onion{},
	}
	go func() {
		t.waitErr = cmd.Wait()
		close(t.exited)
	}()
	if err := t.connect(ctx, portFile, filepath.Join(dir, controlCookieKey)); err != nil {
		if ctx.Err() == nil && connectionLost(err) {
			// A tor that drops the control connection during start is
			// usually on its way out (e.g. a second tor on the same
			// DataDir waits 5 s for the lock, then exits): give it a
			// moment to say why.
			select {
			case <-t.exited:
			case <-time.After(exitGrace):
			}
		}
		exitedByItself := false
		select {
		case <-t.exited:
			exitedByItself = true
		default:
		}
		if t.ctl != nil {
			t.ctl.close()
		}
		_ = cmd.Process.Kill()
		<-t.exited
		switch {
		case exitedByItself && errors.Is(err, errExited):
			return nil, fmt.Errorf("tor: tor exited during start (%v): %s", exitStatus(t.waitErr), t.log.quote())
		case exitedByItself:
			return nil, fmt.Errorf("%w; tor exited during start (%v): %s", err, exitStatus(t.waitErr), t.log.quote())
		case ctx.Err() != nil:
			return nil, fmt.Errorf("tor: start: %w; tor's last words: %s", err, t.log.quote())
		default:
			return nil, err
		}
	}
	go t.monitor()
	return t, nil
}

// torrcText is the whole configuration of our tor.
func torrcText(dir, portFile string, owner int, extra []string) string {
	var b strings.Builder
	line := func(k, v string) { b.WriteString(k + " " + v + "\n") }
	line("DataDirectory", quoteConf(dir))
	line("ControlPort", "auto")
	line("ControlPortWriteToFile", quoteConf(portFile))
	line("CookieAuthentication", "1")
	line("SocksPort", "auto ExtendedErrors")
	line("__OwningControllerProcess", strconv.Itoa(owner))
	line("Log", "notice stdout")
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// quoteConf quotes a torrc value (tor reads C escapes in quoted values), so
// that paths with spaces, backslashes or '#' survive.
func quoteConf(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// exitGrace is how long Start waits for a tor that dropped the control
// connection to exit by itself, for its last words.
const exitGrace = 2 * time.Second

// connectionLost reports whether err is the control connection failing
// (rather than tor refusing something).
func connectionLost(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, errControlClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}

// errExited says that tor exited while Start waited for it.
var errExited = errors.New("tor: tor exited")

// connect waits for the control port file, connects, authenticates, takes
// ownership, subscribes to events and learns the progress and SOCKS port.
func (t *Tor) connect(ctx context.Context, portFile, cookie string) error {
	addr, err := t.waitControlPort(ctx, portFile)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("tor: failed to connect to the control port: %w", err)
	}
	t.ctl = newControlConn(conn, t.onEvent)
	if err := t.ctl.authenticate(ctx, cookie); err != nil {
		return err
	}
	if _, err := t.ctl.command(ctx, "TAKEOWNERSHIP", []byte("TAKEOWNERSHIP")); err != nil {
		return err
	}
	if _, err := t.ctl.command(ctx, "SETEVENTS", []byte("SETEVENTS STATUS_CLIENT HS_DESC")); err != nil {
		return err
	}
	// tor opens the SOCKS listener with the control listener, before it
	// writes the control port file; a few tries cover a slow file system.
	for try := 0; ; try++ {
		vals, r, err := t.ctl.getInfo(ctx, "status/bootstrap-phase", "net/listeners/socks")
		if err != nil {
			return err
		}
		if p, ok := parseBootstrap(vals["status/bootstrap-phase"]); ok {
			t.setProgress(p, r.seq)
		}
		socks, err := pickSocks(vals["net/listeners/socks"])
		if err != nil {
			return err
		}
		if socks != "" {
			t.socks = socks
			return nil
		}
		if try == 10 {
			return errors.New("tor: tor opened no SOCKS port (is DisableNetwork set?)")
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pickSocks chooses a loopback SOCKS listener from GETINFO
// net/listeners/socks, or "" if there is none.
func pickSocks(list string) (string, error) {
	addrs, err := parseQuotedList(list)
	if err != nil {
		return "", fmt.Errorf("tor: GETINFO net/listeners/socks: %w", err)
	}
	for _, a := range addrs {
		if loopbackHostPort(a) {
			return a, nil
		}
	}
	return "", nil
}

// loopbackHostPort reports whether s is "IP:port" with a loopback IP.
func loopbackHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || !validPort(port) {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// waitControlPort waits for tor to write its control port file
// ("PORT=127.0.0.1:NNNN\n") and returns the address.
func (t *Tor) waitControlPort(ctx context.Context, portFile string) (string, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(portFile); err == nil {
			if addr := parsePortFile(b); addr != "" {
				return addr, nil
			}
		}
		select {
		case <-t.exited:
			return "", errExited
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for tor's control port: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// parsePortFile returns the first loopback address of a complete
// "PORT=host:port" line, or "".
func parsePortFile(b []byte) string {
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte{'\n'})
		if !ok {
			return "" // not written in full yet
		}
		b = rest
		addr, ok := strings.CutPrefix(strings.TrimSuffix(string(line), "\r"), "PORT=")
		if ok && loopbackHostPort(addr) {
			return addr
		}
	}
	return ""
}

// monitor waits for tor to exit (killing it if it outlives its control
// connection by killAfter), then says why in Err and closes Done and the
// Watch channels.
func (t *Tor) monitor() {
	select {
	case <-t.exited:
	case <-t.ctl.done:
		select {
		case <-t.exited:
		case <-time.After(killAfter):
			t.mu.Lock()
			t.killed = true
			t.mu.Unlock()
			_ = t.cmd.Process.Kill()
			<-t.exited
		}
	}
	t.ctl.close()
	<-t.ctl.done
	ctlErr := t.ctl.err()

	t.mu.Lock()
	switch {
	case t.closing:
		t.stopErr = ErrClosed
	case ctlErr != nil && !errors.Is(ctlErr, errControlClosed):
		t.stopErr = fmt.Errorf("%w; tor stopped (%s): %s", ctlErr, exitStatus(t.waitErr), t.log.quote())
	default:
		t.stopErr = fmt.Errorf("tor: tor exited (%s): %s", exitStatus(t.waitErr), t.log.quote())
	}
	t.stopped = true
	for _, w := range t.watchers {
		close(w)
	}
	t.watchers = nil
	t.notifyLocked()
	t.mu.Unlock()
	close(t.done)
}

// notifyLocked wakes everyone waiting for a change; t.mu is held.
func (t *Tor) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// onEvent handles an asynchronous event; it runs in the reader goroutine.
func (t *Tor) onEvent(r *reply) {
	kw, rest, _ := strings.Cut(r.firstText(), " ")
	switch kw {
	case "STATUS_CLIENT":
		if p, ok := parseBootstrap(rest); ok {
			t.setProgress(p, r.seq)
		}
	case "HS_DESC":
		// HS_DESC Action HSAddress AuthType HsDir ... (control-spec 4.1.25)
		a, err := parseArgs(rest)
		if err != nil || len(a.pos) < 2 || a.pos[0] != "UPLOADED" {
			return
		}
		t.mu.Lock()
		if o := t.onions[strings.ToLower(a.pos[1])]; o != nil && !o.published {
			o.published = true
			t.notifyLocked()
		}
		t.mu.Unlock()
	}
}

// setProgress records p, which came with reply or event number seq, unless
// something newer is already known.
func (t *Tor) setProgress(p Progress, seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq < t.progSeq || t.stopped {
		return
	}
	t.progSeq = seq
	if p == t.progress {
		return
	}
	t.progress = p
	for _, w := range t.watchers {
		offer(w, p)
	}
	t.notifyLocked()
}

// offer puts p in w, replacing what the reader has not taken yet. Only
// one goroutine sends on w at a time (t.mu is held).
func offer(w chan Progress, p Progress) {
	select {
	case w <- p:
	default:
		select {
		case <-w:
		default:
		}
		w <- p
	}
}

// SocksAddr is tor's SOCKS port, "127.0.0.1:PORT".
func (t *Tor) SocksAddr() string { return t.socks }

// Progress is the latest bootstrap progress.
func (t *Tor) Progress() Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.progress
}

// Watch returns a channel that gets each bootstrap progress change (latest
// wins if the reader is slow: buffered 1, replaced), closed when tor stops.
// The current progress is in it from the start.
func (t *Tor) Watch() <-chan Progress {
	w := make(chan Progress, 1)
	t.mu.Lock()
	defer t.mu.Unlock()
	w <- t.progress
	if t.stopped {
		close(w)
	} else {
		t.watchers = append(t.watchers, w)
	}
	return w
}

// WaitBootstrapped waits until tor has bootstrapped (100%); it fails if tor
// stops first or ctx ends.
func (t *Tor) WaitBootstrapped(ctx context.Context) error {
	for {
		t.mu.Lock()
		p, changed, stopped, stopErr := t.progress, t.changed, t.stopped, t.stopErr
		t.mu.Unlock()
		if p.Percent >= 100 {
			return nil
		}
		if stopped {
			return fmt.Errorf("tor: tor stopped before it bootstrapped: %w", stopErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("tor: bootstrap at %d%% (%s): %w", p.Percent, p.Summary, ctx.Err())
		}
	}
}

// Done is closed when the tor process has exited (crashed or closed); Err
// then says why.
func (t *Tor) Done() <-chan struct{} { return t.done }

// Err says why tor stopped: [ErrClosed] after Close, else an error that
// quotes tor's last log lines. It is nil while tor runs.
func (t *Tor) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopErr
}

// PID of the tor process.
func (t *Tor) PID() int { return t.cmd.Process.Pid }

// Close stops tor: closing the owning control connection makes tor exit;
// if it has not after killAfter (5 s), it is killed. Close waits for the
// process. It is safe to call twice; it returns an error only if tor had
// to be killed.
func (t *Tor) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closing = !t.stopped
		t.mu.Unlock()
		t.ctl.close()
		<-t.done
		t.mu.Lock()
		if t.killed {
			t.closeErr = fmt.Errorf("tor: tor did not exit within %v of its control connection closing; it was killed", killAfter)
		}
		t.mu.Unlock()
	})
	return t.closeErr
}
