package tor

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

const (
	// tailLines is how many of tor's last log lines are kept in memory.
	tailLines = 40
	// tailLineLen bounds a kept line.
	tailLineLen = 400
	// quoteLines is how many of the last lines an error quotes; an older
	// "[err]" line among the last quoteWindow is quoted too.
	quoteLines  = 5
	quoteWindow = 12
)

// logTail receives tor's stdout and stderr: it keeps the last lines in
// memory (for errors that quote tor's own words) and copies everything to
// out, if not nil.
type logTail struct {
	out io.Writer

	mu      sync.Mutex
	partial []byte   // a line not yet ended
	lines   []string // the last tailLines lines
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			room := tailLineLen - len(l.partial)
			if room > 0 {
				l.partial = append(l.partial, rest[:min(room, len(rest))]...)
			}
			break
		}
		l.partial = append(l.partial, rest[:min(i, max(0, tailLineLen-len(l.partial)))]...)
		l.add(string(l.partial))
		l.partial = l.partial[:0]
		rest = rest[i+1:]
	}
	l.mu.Unlock()
	if l.out != nil {
		// A failing log writer must not stop tor's output.
		_, _ = l.out.Write(p)
	}
	return len(p), nil
}

func (l *logTail) add(line string) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return
	}
	if len(l.lines) == tailLines {
		copy(l.lines, l.lines[1:])
		l.lines = l.lines[:tailLines-1]
	}
	l.lines = append(l.lines, sanitize(line))
}

// quote returns tor's last words for an error: the last quoteLines lines,
// after the last "[err]" line of the last quoteWindow lines if that one is
// older; each without its time stamp, joined by " / ".
func (l *logTail) quote() string {
	l.mu.Lock()
	lines := append([]string(nil), l.lines...)
	if len(l.partial) > 0 {
		lines = append(lines, sanitize(string(l.partial)))
	}
	l.mu.Unlock()
	if len(lines) > quoteWindow {
		lines = lines[len(lines)-quoteWindow:]
	}
	var quoted []string
	if len(lines) > quoteLines {
		for i := len(lines) - quoteLines - 1; i >= 0; i-- {
			if strings.Contains(lines[i], "[err]") {
				quoted = append(quoted, lines[i], "...")
				break
			}
		}
		lines = lines[len(lines)-quoteLines:]
	}
	quoted = append(quoted, lines...)
	for i, s := range quoted {
		quoted[i] = stripTimestamp(s)
	}
	if len(quoted) == 0 {
		return "(tor wrote nothing)"
	}
	return strings.Join(quoted, " / ")
}

// stripTimestamp drops the "Nov 27 20:21:53.194 " of a tor log line.
func stripTimestamp(s string) string {
	if i := strings.Index(s, " ["); i >= 0 && i <= 24 && strings.Count(s[:i], ":") == 2 {
		return s[i+1:]
	}
	return s
}
