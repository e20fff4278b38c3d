// Package tormode is SecureChat's Tor mode: one tor process of the app's
// own (package tor), the profile's onion service published for the
// listener, and a dialer for .onion addresses. It knows nothing of the
// session or the UI: the front ends give [Mode.Dial] to the session and
// call [Mode.Publish] when they listen, and show [Mode.Status].
package tormode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/securechat/securechat/tor"
)

// EnvExtraTorrc names a file of torrc lines added to our tor's
// configuration: the way tests join the app's tor to a private Tor network
// (internal/tornet). Not for normal use.
const EnvExtraTorrc = "SECURECHAT_TORRC_EXTRA"

// DataDirName is tor's data directory inside the profile folder.
const DataDirName = "tor"

// State is where Tor mode is.
type State int

// States, in the order they come.
const (
	Off           State = iota // not started, or closed
	Starting                   // tor is being started
	Bootstrapping              // tor runs and is connecting to the Tor network
	Ready                      // tor is connected: dialing works
	Failed                     // tor could not start, or stopped (Err says why)
)

func (s State) String() string {
	return [...]string{"off", "starting", "bootstrapping", "ready", "failed"}[s]
}

// Status is what the user is shown of Tor mode.
type Status struct {
	State    State
	Progress tor.Progress
	// Onion is our onion address ("….onion"), known from the key alone.
	Onion string
	// Port is the onion service's port while published (0: not listening).
	Port int
	// Reachable: the onion service's descriptor is uploaded, contacts can
	// reach us through Tor.
	Reachable bool
	Err       error
}

// Config sets up Tor mode.
type Config struct {
	TorPath  string       // the user's choice of tor program; "": look for it
	DataDir  string       // tor's data directory (the profile's "tor" folder)
	OnionKey tor.OnionKey // the profile's onion service key
	Extra    []string     // more torrc lines (tests; see EnvExtraTorrc)
	Log      io.Writer    // tor's log; nil: kept in memory only
}

// ErrNoTor: tor is not installed, or not where the settings say.
var ErrNoTor = errors.New("tormode: the tor program was not found")

// Mode is a running Tor mode. Its methods are safe for concurrent use.
type Mode struct {
	cfg    Config
	onion  string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	t        *tor.Tor
	st       Status
	watchers []chan Status
	port     int // the port to publish; 0: none
	ready    chan struct{}
	pubGen   int // counts Publish/Unpublish, so that an old publish stands down
}

// Start starts tor in the background and returns at once; [Mode.Status]
// and [Mode.Watch] tell how it goes.
func Start(cfg Config) *Mode {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mode{cfg: cfg, onion: cfg.OnionKey.Address(), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), ready: make(chan struct{})}
	m.st = Status{State: Starting, Onion: m.onion}
	go m.run()
	return m
}

// Onion returns our onion address.
func (m *Mode) Onion() string { return m.onion }

// Status returns the current status.
func (m *Mode) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// Watch returns a channel that gets the status after each change (the
// latest wins when the reader is slow). It is closed by [Mode.Close].
func (m *Mode) Watch() <-chan Status {
	ch := make(chan Status, 1)
	m.mu.Lock()
	defer m.mu.Unlock()
	ch <- m.st
	if m.st.State == Off {
		close(ch)
		return ch
	}
	m.watchers = append(m.watchers, ch)
	return ch
}

// setLocked changes the status and tells the watchers.
func (m *Mode) setLocked(change func(*Status)) {
	change(&m.st)
	for _, ch := range m.watchers {
		select {
		case <-ch:
		default:
		}
		ch <- m.st
	}
}

func (m *Mode) set(change func(*Status)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked(change)
}

func (m *Mode) fail(err error) {
	m.set(func(s *Status) { s.State, s.Err, s.Reachable = Failed, err, false })
}

// run starts tor, follows its bootstrap, and publishes the onion service.
func (m *Mode) run() {
	defer close(m.done)
	bin, err := tor.Find(m.cfg.TorPath)
	if err != nil {
		if errors.Is(err, tor.ErrNotFound) {
			err = fmt.Errorf("%w: %w", ErrNoTor, err)
		}
		m.fail(err)
		return
	}
	if err := os.MkdirAll(m.cfg.DataDir, 0o700); err != nil {
		m.fail(fmt.Errorf("tormode: failed to make tor's folder: %w", err))
		return
	}
	sctx, cancel := context.WithTimeout(m.ctx, 60*time.Second)
	t, err := tor.Start(sctx, tor.Config{Binary: bin, DataDir: m.cfg.DataDir, Extra: m.cfg.Extra, Log: m.cfg.Log})
	cancel()
	if err != nil {
		if m.ctx.Err() != nil {
			return
		}
		m.fail(err)
		return
	}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		_ = t.Close()
		return
	}
	m.t = t
	m.setLocked(func(s *Status) { s.State = Bootstrapping })
	m.mu.Unlock()

	progress := t.Watch()
	m.onProgress(t.Progress())
	for {
		select {
		case p, ok := <-progress:
			if !ok {
				if m.ctx.Err() == nil {
					err := t.Err()
					if err == nil {
						err = errors.New("tormode: tor stopped")
					}
					m.fail(err)
				}
				return
			}
			m.onProgress(p)
		case <-m.ctx.Done():
			return
		}
	}
}

// onProgress records tor's bootstrap progress; at 100% dialing opens and
// a listener waiting for it is published.
func (m *Mode) onProgress(p tor.Progress) {
	m.mu.Lock()
	first := m.st.State == Bootstrapping && p.Percent >= 100
	m.setLocked(func(s *Status) {
		s.Progress = p
		if first {
			s.State = Ready
		}
	})
	if first {
		close(m.ready)
	}
	port, gen := m.port, m.pubGen
	m.mu.Unlock()
	if first && port != 0 {
		go m.publish(port, gen)
	}
}

// Dial connects to addr through tor, waiting for tor to be connected to
// the Tor network first (within ctx).
func (m *Mode) Dial(ctx context.Context, addr string) (net.Conn, error) {
	select {
	case <-m.ready:
	case <-ctx.Done():
		st := m.Status()
		if st.State == Failed && st.Err != nil {
			return nil, st.Err
		}
		return nil, fmt.Errorf("tormode: tor is not connected yet (%d%%): %w", st.Progress.Percent, ctx.Err())
	case <-m.done:
		if err := m.Status().Err; err != nil {
			return nil, err
		}
		return nil, errors.New("tormode: Tor mode is off")
	}
	m.mu.Lock()
	t := m.t
	m.mu.Unlock()
	return t.Dial(ctx, addr)
}

// Publish makes our onion service forward port (the same number outside)
// to the listener at 127.0.0.1:port, now or once tor is connected.
func (m *Mode) Publish(port int) {
	m.mu.Lock()
	m.port = port
	m.pubGen++
	gen := m.pubGen
	ready := m.st.State == Ready
	m.setLocked(func(s *Status) { s.Port, s.Reachable = port, false })
	m.mu.Unlock()
	if ready {
		go m.publish(port, gen)
	}
}

func (m *Mode) publish(port, gen int) {
	m.mu.Lock()
	t := m.t
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
	defer cancel()
	// A service of an earlier Publish goes first (ADD_ONION refuses a key
	// already in use).
	_ = t.DelOnion(ctx, m.onion)
	addr, err := t.AddOnion(ctx, m.cfg.OnionKey, port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if m.current(gen) {
			m.fail(fmt.Errorf("tormode: failed to publish the onion service: %w", err))
		}
		return
	}
	if addr != m.onion {
		m.fail(errors.New("tormode: tor published another onion address than the key's"))
		return
	}
	// Contacts can find the service once its descriptor is uploaded; that
	// takes a few seconds and is retried by tor, so wait long.
	wctx, wcancel := context.WithTimeout(m.ctx, 5*time.Minute)
	defer wcancel()
	if err := t.WaitPublished(wctx, addr); err != nil {
		return // still published; tor goes on trying
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pubGen == gen {
		m.setLocked(func(s *Status) { s.Reachable = true })
	}
}

func (m *Mode) current(gen int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pubGen == gen
}

// Unpublish takes the onion service down (the app stopped listening).
func (m *Mode) Unpublish() {
	m.mu.Lock()
	m.port = 0
	m.pubGen++
	t := m.t
	m.setLocked(func(s *Status) { s.Port, s.Reachable = 0, false })
	m.mu.Unlock()
	if t != nil {
		ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
		defer cancel()
		_ = t.DelOnion(ctx, m.onion)
	}
}

// Close stops tor and waits for it.
func (m *Mode) Close() {
	m.cancel()
	<-m.done
	m.mu.Lock()
	t := m.t
	m.t = nil
	m.setLocked(func(s *Status) { s.State, s.Reachable, s.Port = Off, false, 0 })
	for _, ch := range m.watchers {
		close(ch)
	}
	m.watchers = nil
	m.mu.Unlock()
	if t != nil {
		_ = t.Close()
	}
}

// PID returns the tor process's id, 0 when none runs.
func (m *Mode) PID() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.t == nil {
		return 0
	}
	return m.t.PID()
}

// ExtraFromEnv reads the torrc lines of the file [EnvExtraTorrc] names,
// if it is set: one "Key value" per line, blank lines and # comments
// skipped.
func ExtraFromEnv() ([]string, error) {
	path := os.Getenv(EnvExtraTorrc)
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tormode: %s: %w", EnvExtraTorrc, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tormode: %s: %w", EnvExtraTorrc, err)
	}
	return out, nil
}

// DataDir is tor's data directory for the profile in profileDir.
func DataDir(profileDir string) string { return filepath.Join(profileDir, DataDirName) }
