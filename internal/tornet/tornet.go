// Package tornet runs a private Tor network on 127.0.0.1 for tests: one or
// more directory authorities and a few relays, each a tor process of the
// test with its own data directory, keys made with tor-gencert, ports free
// on 127.0.0.1 and nothing else reachable. A tor that joins the network (a
// client, an onion service, SecureChat's own tor) adds [Network.Torrc] to
// its configuration.
//
// It is test infrastructure: the tests that start tor carry the build tag
// `tor` (make test-tor). Facts it relies on, measured on our machines, are
// in notes/tor-test-network.md; NOTES-for-integrator.md says how to use it.
package tornet

import (
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
	"unicode"
)

// Options sizes a network. The zero value is the default: 1 authority and
// 3 relays, the smallest network the notes found to carry an onion service.
type Options struct {
	Authorities int       // default 1 (the notes: 1 authority + 3 relays works)
	Relays      int       // default 3
	Log         io.Writer // tors' logs, nil: into files under Dir
}

// Network is a running private Tor network.
type Network struct {
	Dir string
	// Torrc are the lines any tor that joins this network needs (a client, an
	// onion service, SecureChat's own tor via tor.Config.Extra):
	// TestingTorNetwork 1, DirAuthority ... per authority, AssumeReachable 1,
	// PathsNeededToBuildCircuits 0.67, and what else the notes found needed.
	Torrc []string
	PIDs  []int // the network's tor processes (for a capture's filter)
	Ports []int // every ORPort and DirPort the network uses

	nodes []*node
	procs []*torProc
	files []*os.File // log files (Options.Log nil)
	note  func(format string, args ...any)

	closeOnce sync.Once
	closeErr  error
}

// minTors is the fewest relay-capable tors (authorities count) with which
// the notes saw an onion service work; with 3, path selection fails ("No
// available nodes when trying to choose node").
const minTors = 4

// attempts is how many times Start picks new ports when another process
// took one of ours between our pick and tor's bind.
const attempts = 3

// Start builds the network in dir (keys with tor-gencert, one data directory
// per tor, ports free on 127.0.0.1) and returns once the consensus lists
// every relay (so that a joining tor bootstraps quickly). ctx bounds it.
//
// dir is created if missing; the network's files go in subdirectories named
// after the tors (auth0, relay1, ...), which must not exist yet. On failure
// every tor started is stopped and the error quotes their log lines.
func Start(ctx context.Context, dir string, o Options) (*Network, error) {
	if o.Authorities == 0 {
		o.Authorities = 1
	}
	if o.Relays == 0 {
		o.Relays = 3
	}
	if o.Authorities < 0 || o.Relays < 0 {
		return nil, fmt.Errorf("tornet: %d authorities and %d relays: negative", o.Authorities, o.Relays)
	}
	if o.Authorities+o.Relays < minTors {
		return nil, fmt.Errorf("tornet: %d authorities and %d relays: a network needs at least %d in all",
			o.Authorities, o.Relays, minTors)
	}
	if strings.ContainsFunc(dir, unicode.IsControl) {
		return nil, errors.New("tornet: the directory's name has control characters")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("tornet: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("tornet: %w", err)
	}
	torBin, gencert, err := findBinaries()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		n, err := start(ctx, abs, o, torBin, gencert)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == attempts || ctx.Err() != nil {
			return nil, err
		}
		for _, nd := range plan(abs, o) {
			_ = os.RemoveAll(nd.dir)
			_ = os.Remove(nd.dir + ".log")
		}
	}
}

// plan names the network's tors and their directories (ports and keys
// come later).
func plan(dir string, o Options) []*node {
	var nodes []*node
	for i := range o.Authorities {
		nick := "auth" + strconv.Itoa(i)
		nodes = append(nodes, &node{nick: nick, authority: true, dir: filepath.Join(dir, nick)})
	}
	for i := range o.Relays {
		nick := "relay" + strconv.Itoa(o.Authorities+i)
		nodes = append(nodes, &node{nick: nick, dir: filepath.Join(dir, nick)})
	}
	return nodes
}

// start is one try of Start.
func start(ctx context.Context, dir string, o Options, torBin, gencert string) (_ *Network, err error) {
	began := time.Now()
	n := &Network{Dir: dir, nodes: plan(dir, o)}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()

	// Our own notes (timings) go where the tors' logs go.
	var logMu sync.Mutex
	sinkFor := func(name string) (io.Writer, error) {
		if o.Log != nil {
			return &prefixWriter{mu: &logMu, w: o.Log, prefix: name + ": "}, nil
		}
		f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("tornet: log file: %w", err)
		}
		n.files = append(n.files, f)
		return f, nil
	}
	noteSink, err := sinkFor("tornet")
	if err != nil {
		return nil, err
	}
	n.note = func(format string, args ...any) {
		_, _ = fmt.Fprintf(noteSink, format+"\n", args...)
	}

	defaults := filepath.Join(dir, "empty-defaults-torrc")
	if err := os.WriteFile(defaults, nil, 0o600); err != nil {
		return nil, fmt.Errorf("tornet: %w", err)
	}
	var auths []*node
	need := 0
	for _, nd := range n.nodes {
		if err := os.Mkdir(nd.dir, 0o700); err != nil {
			return nil, fmt.Errorf("tornet: %s: a fresh directory is needed: %w", nd.nick, err)
		}
		need++
		if nd.authority {
			auths = append(auths, nd)
			need++
		}
	}
	ports, err := freePorts(need)
	if err != nil {
		return nil, err
	}
	n.Ports = ports
	for _, nd := range n.nodes {
		nd.orPort, ports = ports[0], ports[1:]
		if nd.authority {
			nd.dirPort, ports = ports[0], ports[1:]
		}
	}

	if err := makeAuthorityKeys(ctx, auths, torBin, gencert, defaults); err != nil {
		return nil, err
	}
	keyed := time.Since(began)
	n.Torrc = joinLines(auths)
	var hsdirs []string
	for _, a := range auths {
		hsdirs = append(hsdirs, "$"+a.identity)
	}

	sh := shared{
		join:     n.Torrc,
		ownerPID: os.Getpid(),
		hsdirs:   strings.Join(hsdirs, ","),
		empty:    defaults,
		offset:   firstVoteOffset(time.Now()),
	}
	launch := func(nd *node) error {
		path, err := nd.writeTorrc(nd.torrc(sh))
		if err != nil {
			return err
		}
		sink, err := sinkFor(nd.nick)
		if err != nil {
			return err
		}
		p, err := startTor(torBin, nd.nick, path, defaults, nd.dir, sink)
		if err != nil {
			return err
		}
		n.procs = append(n.procs, p)
		n.PIDs = append(n.PIDs, p.PID())
		return nil
	}
	// Authorities first: a relay uploads its descriptor once at start, and a
	// failed upload is retried only much later.
	for _, a := range auths {
		if err := launch(a); err != nil {
			return nil, err
		}
	}
	for i, a := range auths {
		if err := n.waitListening(ctx, n.procs[i], a.dirPort); err != nil {
			return nil, err
		}
	}
	authsUp := time.Since(began)
	for _, nd := range n.nodes {
		if !nd.authority {
			if err := launch(nd); err != nil {
				return nil, err
			}
		}
	}
	if err := n.waitConsensus(ctx, auths[0].dirPort); err != nil {
		return nil, err
	}
	n.note("network of %d tors ready in %s (keys %s, authorities listening %s)",
		len(n.nodes), time.Since(began).Round(time.Millisecond), keyed.Round(time.Millisecond),
		authsUp.Round(time.Millisecond))
	return n, nil
}

// bounded returns at most the last 2 KiB of a tool's output, for an error.
func bounded(b []byte) string {
	const maxLen = 2048
	if len(b) > maxLen {
		b = b[len(b)-maxLen:]
	}
	return strings.TrimSpace(string(b))
}

// waitListening waits until p accepts TCP connections on 127.0.0.1:port.
func (n *Network) waitListening(ctx context.Context, p *torProc, port int) error {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := d.DialContext(dctx, "tcp4", addr)
		cancel()
		if err == nil {
			_ = c.Close()
			return nil
		}
		if err := n.failure(ctx, fmt.Sprintf("waiting for %s to listen on %s", p.name, addr)); err != nil {
			return err
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		case <-p.done:
		}
	}
}

// failure returns an error if a tor has exited or ctx has ended, quoting
// what the tors logged; doing says what Start was waiting for.
func (n *Network) failure(ctx context.Context, doing string) error {
	for _, p := range n.procs {
		if p.exited() {
			err := p.exitError()
			if p.portTaken() {
				return fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		}
	}
	if ctx.Err() == nil {
		return nil
	}
	var b strings.Builder
	for _, p := range n.procs {
		fmt.Fprintf(&b, "  %s:\n%s", p.name, p.log.quote(6))
	}
	return fmt.Errorf("tornet: %s: %w; the tors' last log lines:\n%s", doing, context.Cause(ctx), b.String())
}

// waitConsensus polls the authority's DirPort until its consensus lists
// every tor of the network with the flags a joining client and onion
// service need from it.
func (n *Network) waitConsensus(ctx context.Context, dirPort int) error {
	var want []wantRouter
	for _, nd := range n.nodes {
		// Running and Valid make a relay usable at all; Guard (voted for
		// every relay) lets a client pick its entry at once; HSDir (voted
		// for the authorities, the directory caches) is where onion service
		// descriptors go, V2Dir where joining tors fetch directory
		// information. Fast and Stable are not required: the authority
		// gives them by comparing relays (the median uptime, a bandwidth
		// quantile), so one relay may lack them for a while, and tor falls
		// back to relays without them when none has them.
		flags := []string{"Running", "Valid", "Guard"}
		if nd.authority {
			flags = append(flags, "HSDir", "V2Dir")
		}
		want = append(want, wantRouter{Nickname: nd.nick, ORPort: nd.orPort, Flags: flags})
	}
	began := time.Now()
	status := "no answer yet"
	lastValidAfter := ""
	for {
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := fetchConsensus(fctx, dirPort)
		cancel()
		switch {
		case err == nil:
			if c.ValidAfter != lastValidAfter {
				lastValidAfter = c.ValidAfter
				n.note("consensus valid-after %s after %s: %s", c.ValidAfter,
					time.Since(began).Round(time.Millisecond), describe(c))
			}
			missing := c.missing(want)
			if len(missing) == 0 {
				return nil
			}
			status = "the consensus of " + c.ValidAfter + ": " + strings.Join(missing, "; ")
		case errors.Is(err, errNoConsensus):
			status = "no consensus yet"
		case ctx.Err() == nil: // else the error is ctx's: keep what we knew
			status = err.Error()
		}
		if err := n.failure(ctx, "waiting for a consensus listing every relay ("+status+")"); err != nil {
			return err
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// describe lists a consensus's relays and flags in one line.
func describe(c consensus) string {
	if len(c.Routers) == 0 {
		return "no relay"
	}
	var parts []string
	for _, r := range c.Routers {
		parts = append(parts, r.Nickname+"["+strings.Join(r.Flags, ",")+"]")
	}
	return strings.Join(parts, " ")
}

// Close stops every tor, waits for them (and their logs) and closes the
// log files. It returns an error if a tor had exited by itself before
// Close (it crashed: the error quotes its log). Safe to call twice.
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		for _, p := range n.procs {
			if p.exited() {
				errs = append(errs, p.exitError())
			}
		}
		var wg sync.WaitGroup
		for _, p := range n.procs {
			wg.Go(p.stop)
		}
		wg.Wait()
		for _, f := range n.files {
			if err := f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("tornet: %w", err))
			}
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// prefixWriter writes each line it is given to w after prefix, one writer
// at a time (the tors' log readers share Options.Log).
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.w, p.prefix+string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// findBinaries finds tor and tor-gencert: on PATH, else where Debian,
// other Linux distributions and Homebrew put them (Debian's tor is in
// /usr/sbin, which is not on a user's PATH).
func findBinaries() (torBin, gencert string, err error) {
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin", "/opt/homebrew/bin"} {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p
			}
		}
		return ""
	}
	torBin, gencert = find("tor"), find("tor-gencert")
	if torBin == "" {
		return "", "", errors.New("tornet: no tor program found (apt-get install tor)")
	}
	if gencert == "" {
		return "", "", errors.New("tornet: no tor-gencert program found (Debian's tor package has it)")
	}
	return torBin, gencert, nil
}
