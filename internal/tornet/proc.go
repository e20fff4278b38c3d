package tornet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
)

// maxLogLines is how many of a tor's log lines are kept in memory (to
// quote in errors and to wait for a line); tor at notice level writes a
// few dozen in a test's life.
const maxLogLines = 2000

// torProc is one tor process of ours and its log.
type torProc struct {
	name string
	cmd  *exec.Cmd
	log  *logTail

	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // cmd.Wait's answer, written before done is closed
	logDone chan struct{} // closed once its output has been read to the end
}

// startTor runs bin with only our configuration: `-f torrc --defaults-torrc
// defaults` (an empty file, so /etc/tor/torrc and the system defaults are
// never read). The torrc must say `Log notice stdout`: stdout and stderr
// are read line by line into memory and copied to sink (if not nil).
// On Linux the tor is killed when this process dies (Pdeathsig); the torrc's
// __OwningControllerProcess is the fallback elsewhere.
func startTor(bin, name, torrc, defaults, workDir string, sink io.Writer) (*torProc, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("tornet: %s: output pipe: %w", name, err)
	}
	cmd := exec.Command(bin, "-f", torrc, "--defaults-torrc", defaults)
	cmd.Dir = workDir
	cmd.Stdin = nil
	cmd.Stdout = pw
	cmd.Stderr = pw
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return nil, fmt.Errorf("tornet: %s: starting %s: %w", name, bin, err)
	}
	_ = pw.Close() // the child has its copy: EOF comes when tor exits
	p := &torProc{
		name:    name,
		cmd:     cmd,
		log:     newLogTail(),
		done:    make(chan struct{}),
		logDone: make(chan struct{}),
	}
	go p.readLog(pr, sink)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *torProc) readLog(r io.ReadCloser, sink io.Writer) {
	defer close(p.logDone)
	defer func() { _ = r.Close() }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		p.log.add(line)
		if sink != nil {
			_, _ = io.WriteString(sink, line+"\n")
		}
	}
	if err := sc.Err(); err != nil {
		p.log.add("tornet: reading the log: " + err.Error())
		_, _ = io.Copy(io.Discard, r) // keep the pipe drained so tor never blocks on it
	}
}

// PID returns the process id.
func (p *torProc) PID() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *torProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes how a tor ended by itself, quoting its log.
func (p *torProc) exitError() error {
	<-p.logDone
	how := "exited"
	if p.waitErr != nil {
		how = "exited: " + p.waitErr.Error()
	}
	return fmt.Errorf("tornet: %s %s; its last log lines:\n%s", p.name, how, p.log.quote(15))
}

// stop kills tor and waits for the process and its log. A test network
// has nothing to save, and on SIGTERM an authority sometimes took more
// than 3 s to exit.
func (p *torProc) stop() {
	if !p.exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
	<-p.logDone
}

// logTail keeps a tor's latest log lines.
type logTail struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on each new line
}

func newLogTail() *logTail {
	return &logTail{changed: make(chan struct{})}
}

func (l *logTail) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == maxLogLines {
		l.lines = append(l.lines[:0], l.lines[maxLogLines/2:]...)
	}
	l.lines = append(l.lines, line)
	close(l.changed)
	l.changed = make(chan struct{})
}

// find returns the first kept line containing s, and a channel closed at
// the next new line (to wait on when s is not there yet).
func (l *logTail) find(s string) (string, bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return line, true, l.changed
		}
	}
	return "", false, l.changed
}

// expectedWarnings are warnings the tors of a test network log as a
// matter of course; they say nothing about what went wrong, so errors do
// not quote them.
var expectedWarnings = []string{
	"to specify alternate directory authorities",
	"TestingTorNetwork is set",
	"You are running Tor as root",
	"you disabled SafeLogging",
	"Could not read your DNS config",
	"is very low",
	"DirCache is disabled and we are configured as a relay",
	"approved-routers",
	"sr-state",
	// Until the first consensus:
	`Received http status code 404 ("Not found") from server 127.0.0.1`,
	"We just marked ourself as down",
}

func expected(line string) bool {
	return slices.ContainsFunc(expectedWarnings, func(w string) bool { return strings.Contains(line, w) })
}

// quote returns, indented for an error message and in the log's order,
// tor's last n warnings and errors (the lines that say what went wrong)
// and its last n lines, less the expected warnings.
func (l *logTail) quote(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := map[int]bool{}
	warnings, others := 0, 0
	for i := len(l.lines) - 1; i >= 0 && (warnings < n || others < n); i-- {
		line := l.lines[i]
		if expected(line) {
			continue
		}
		if strings.Contains(line, "[warn]") || strings.Contains(line, "[err]") {
			if warnings < n {
				keep[i] = true
				warnings++
			}
		} else if others < n {
			keep[i] = true
			others++
		}
	}
	if len(keep) == 0 {
		return "    (nothing)\n"
	}
	var b strings.Builder
	for i, line := range l.lines {
		if keep[i] {
			b.WriteString("    ")
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// errPortTaken marks a start that failed because a port we picked was
// taken in between by another process; a new try with new ports may work.
var errPortTaken = errors.New("tornet: a port picked for the network was taken in the meantime")

// portTaken reports whether tor's log says it could not bind a port.
func (p *torProc) portTaken() bool {
	_, ok, _ := p.log.find("Address already in use")
	return ok
}
