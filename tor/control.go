package tor

// The client side of tor's control protocol (torspec control-spec.txt):
// replies are parsed here, bounded, by one reader goroutine per connection;
// commands are written one at a time and matched to their replies in order;
// asynchronous events (status 650) go to a callback.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// maxLineLen bounds one line of a reply, CRLF excluded.
	maxLineLen = 64 << 10
	// maxReplyLen bounds a whole reply: every line and data byte.
	maxReplyLen = 1 << 20
	// maxReplyLines bounds the lines of a reply (data lines excluded: they
	// are kept as one block, and maxReplyLen bounds them).
	maxReplyLines = 4096
	// writeTimeout bounds a command's write when its context has no deadline.
	writeTimeout = 10 * time.Second
	// cookieLen is the length of tor's control cookie (control-spec 3.21).
	cookieLen = 32
)

// The HMAC keys of SAFECOOKIE authentication (control-spec 3.24).
const (
	safeCookieServerKey = "Tor safe cookie authentication server-to-controller hash"
	safeCookieClientKey = "Tor safe cookie authentication controller-to-server hash"
)

var (
	// errMalformed is wrapped by every error about a reply that does not
	// follow the grammar; it ends the connection.
	errMalformed = errors.New("malformed control reply")
	// errServerHash says that the control port does not know tor's cookie:
	// whatever listens there is not the tor we started.
	errServerHash = errors.New("tor: the control port's SAFECOOKIE server hash is wrong (it is not our tor)")
	// errControlClosed is the error of a command on a closed connection.
	errControlClosed = errors.New("tor: control connection closed")
)

// replyLine is one line of a control reply (control-spec 2.3).
type replyLine struct {
	Status int
	Sep    byte   // '-' (MidReplyLine), '+' (DataReplyLine) or ' ' (EndReplyLine)
	Text   string // what follows the separator
	// Data is the data block of a '+' line: dot-unstuffed, lines ended by
	// "\n", without the final ".".
	Data []byte
}

// reply is a whole reply: one or more lines with one status code.
type reply struct {
	Status int
	Lines  []replyLine
	// seq numbers the replies and events in the order they arrived.
	seq uint64
}

func (r *reply) async() bool { return r.Status/100 == 6 }

// firstText is the text of the reply's first line.
func (r *reply) firstText() string { return r.Lines[0].Text }

// readLine reads one line of at most maxLineLen bytes and returns it without
// its line end (CRLF, or a lone LF, which is tolerated).
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > maxLineLen+2 {
			return nil, fmt.Errorf("%w: a line is longer than %d bytes", errMalformed, maxLineLen)
		}
		line = append(line, frag...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > maxLineLen {
		return nil, fmt.Errorf("%w: a line is longer than %d bytes", errMalformed, maxLineLen)
	}
	return line, nil
}

// readReply reads one reply or event. Every error but io.EOF before the
// first byte means the stream can no longer be trusted.
func readReply(br *bufio.Reader) (*reply, error) {
	r := &reply{}
	total := 0
	for {
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) && len(r.Lines) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		total += len(line) + 2
		if total > maxReplyLen {
			return nil, fmt.Errorf("%w: a reply is longer than %d bytes", errMalformed, maxReplyLen)
		}
		if len(line) < 4 {
			return nil, fmt.Errorf("%w: a line of %d bytes", errMalformed, len(line))
		}
		status := 0
		for _, c := range line[:3] {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("%w: a line starts with no status code", errMalformed)
			}
			status = status*10 + int(c-'0')
		}
		if status < 100 {
			return nil, fmt.Errorf("%w: status code %03d", errMalformed, status)
		}
		if len(r.Lines) == 0 {
			r.Status = status
		} else if status != r.Status {
			return nil, fmt.Errorf("%w: status codes %d and %d in one reply", errMalformed, r.Status, status)
		}
		if len(r.Lines) == maxReplyLines {
			return nil, fmt.Errorf("%w: a reply has more than %d lines", errMalformed, maxReplyLines)
		}
		rl := replyLine{Status: status, Sep: line[3], Text: string(line[4:])}
		switch rl.Sep {
		case ' ':
			r.Lines = append(r.Lines, rl)
			return r, nil
		case '-':
		case '+':
			var data []byte
			for {
				dl, err := readLine(br)
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					return nil, err
				}
				total += len(dl) + 2
				if total > maxReplyLen {
					return nil, fmt.Errorf("%w: a reply is longer than %d bytes", errMalformed, maxReplyLen)
				}
				if len(dl) == 1 && dl[0] == '.' {
					break
				}
				// A leading "." is stuffed (RFC 2821 section 4.5.2).
				dl = bytes.TrimPrefix(dl, []byte{'.'})
				data = append(data, dl...)
				data = append(data, '\n')
			}
			if data == nil {
				data = []byte{}
			}
			rl.Data = data
		default:
			return nil, fmt.Errorf("%w: %q after a status code", errMalformed, rl.Sep)
		}
		r.Lines = append(r.Lines, rl)
	}
}

// unquote reads the QuotedString at the start of s (s[0] is '"') and returns
// its value and what follows the closing quote. Escapes are read the way
// control-spec 2.1.1 advises: \n \t \r and octal \0..\377 as in C, a
// backslash before any other character as that character.
func unquote(s string) (string, string, error) {
	if len(s) == 0 || s[0] != '"' {
		return "", s, fmt.Errorf("%w: a quoted string without its quote", errMalformed)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			i++
			if i == len(s) {
				return "", "", fmt.Errorf("%w: a quoted string ends in a backslash", errMalformed)
			}
			switch e := s[i]; {
			case e == 'n':
				b.WriteByte('\n')
			case e == 't':
				b.WriteByte('\t')
			case e == 'r':
				b.WriteByte('\r')
			case e >= '0' && e <= '7':
				v := 0
				n := 0
				for n < 3 && i < len(s) && s[i] >= '0' && s[i] <= '7' && v*8+int(s[i]-'0') <= 0o377 {
					v = v*8 + int(s[i]-'0')
					i++
					n++
				}
				i--
				b.WriteByte(byte(v))
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("%w: a quoted string without its end", errMalformed)
}

// args is a reply line split into words: positional words, and KEY=VALUE
// arguments whose values may be quoted.
type args struct {
	pos []string
	kv  map[string]string
}

// parseArgs splits s at spaces. A word KEY=VALUE with KEY of letters,
// digits and "_" is an argument (VALUE unquoted if it starts with '"');
// other words are positional, quoted ones unquoted.
func parseArgs(s string) (args, error) {
	a := args{kv: map[string]string{}}
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return a, nil
		}
		key, isKV := "", false
		if eq := strings.IndexByte(s, '='); eq > 0 && isKeyword(s[:eq]) {
			key, isKV = s[:eq], true
			s = s[eq+1:]
		}
		var val string
		if strings.HasPrefix(s, `"`) {
			v, rest, err := unquote(s)
			if err != nil {
				return args{}, err
			}
			if rest != "" && rest[0] != ' ' {
				return args{}, fmt.Errorf("%w: text right after a quoted string", errMalformed)
			}
			val, s = v, rest
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		if isKV {
			if _, dup := a.kv[key]; !dup {
				a.kv[key] = val
			}
		} else {
			a.pos = append(a.pos, val)
		}
	}
}

func isKeyword(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// sanitize makes text from tor fit for an error or a UI: printable ASCII
// (others become '?'), at most 300 bytes.
func sanitize(s string) string {
	const max = 300
	cut := len(s) > max
	if cut {
		s = s[:max]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	if cut {
		return string(b) + "..."
	}
	return string(b)
}

// replyError is tor's answer to a command that failed.
type replyError struct {
	Command string // the command's keyword
	Status  int
	Text    string // tor's words, sanitized
}

func (e *replyError) Error() string {
	return fmt.Sprintf("tor: %s refused: %d %s", e.Command, e.Status, e.Text)
}

// controlConn is a control connection. A reader goroutine reads every reply
// and event; commands go out one at a time, and each gets the next reply.
type controlConn struct {
	conn    net.Conn
	br      *bufio.Reader
	onEvent func(*reply) // called by the reader, in order; must not block

	writeMu sync.Mutex // held while a command is written

	mu      sync.Mutex
	pending []chan *reply // the waiters for replies, in command order
	cause   error         // why the connection ended, once it has
	done    chan struct{} // closed when the reader has stopped
}

func newControlConn(conn net.Conn, onEvent func(*reply)) *controlConn {
	c := &controlConn{
		conn:    conn,
		br:      bufio.NewReaderSize(conn, 4096),
		onEvent: onEvent,
		done:    make(chan struct{}),
	}
	go c.readLoop()
	return c
}

func (c *controlConn) readLoop() {
	var seq uint64
	var err error
	for {
		var r *reply
		r, err = readReply(c.br)
		if err != nil {
			break
		}
		seq++
		r.seq = seq
		if r.async() {
			if c.onEvent != nil {
				c.onEvent(r)
			}
			continue
		}
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.mu.Unlock()
			err = fmt.Errorf("%w: a %d reply to no command", errMalformed, r.Status)
			break
		}
		ch := c.pending[0]
		c.pending = c.pending[1:]
		c.mu.Unlock()
		ch <- r
	}
	if errors.Is(err, io.EOF) {
		err = errControlClosed
	} else if errors.Is(err, errMalformed) {
		err = fmt.Errorf("tor: %w", err)
	} else {
		err = fmt.Errorf("tor: control connection: %w", err)
	}
	c.fail(err)
	close(c.done)
}

// fail ends the connection for err, unless it has already ended.
func (c *controlConn) fail(err error) {
	c.mu.Lock()
	if c.cause == nil {
		c.cause = err
	}
	c.pending = nil
	c.mu.Unlock()
	_ = c.conn.Close()
}

// close ends the connection; the reader stops soon after.
func (c *controlConn) close() { c.fail(errControlClosed) }

// err is why the connection ended, nil while it is open.
func (c *controlConn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// roundTrip sends one command line (without CRLF) and waits for its reply.
// The line may hold a secret: it is never part of an error, and the buffer
// that goes to the socket is zeroed after the write.
func (c *controlConn) roundTrip(ctx context.Context, line []byte) (*reply, error) {
	if bytes.ContainsAny(line, "\r\n") {
		return nil, errors.New("tor: a control command with a line break")
	}
	ch := make(chan *reply, 1)
	c.writeMu.Lock()
	c.mu.Lock()
	if c.cause != nil {
		err := c.cause
		c.mu.Unlock()
		c.writeMu.Unlock()
		return nil, err
	}
	c.pending = append(c.pending, ch)
	c.mu.Unlock()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(writeTimeout)
	}
	_ = c.conn.SetWriteDeadline(dl)
	buf := make([]byte, 0, len(line)+2)
	buf = append(append(buf, line...), '\r', '\n')
	_, err := c.conn.Write(buf)
	clear(buf)
	c.writeMu.Unlock()
	if err != nil {
		c.fail(fmt.Errorf("tor: control connection: %w", err))
		return nil, c.err()
	}
	select {
	case r := <-ch:
		return r, nil
	case <-c.done:
		select {
		case r := <-ch:
			return r, nil
		default:
		}
		return nil, c.err()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// command sends a command and returns its reply if tor says 250; keyword
// names the command in errors (the line itself is never in one).
func (c *controlConn) command(ctx context.Context, keyword string, line []byte) (*reply, error) {
	r, err := c.roundTrip(ctx, line)
	if err != nil {
		return nil, fmt.Errorf("tor: %s: %w", keyword, err)
	}
	if r.Status != 250 {
		return r, &replyError{Command: keyword, Status: r.Status, Text: sanitize(r.Lines[len(r.Lines)-1].Text)}
	}
	return r, nil
}

// authenticate asks tor how to authenticate (PROTOCOLINFO) and does it:
// SAFECOOKIE when offered, else COOKIE, else NULL if tor says that no
// authentication is needed. The cookie is read from cookiePath (tor's
// COOKIEFILE is not followed: we know where our tor keeps it).
func (c *controlConn) authenticate(ctx context.Context, cookiePath string) error {
	r, err := c.command(ctx, "PROTOCOLINFO", []byte("PROTOCOLINFO 1"))
	if err != nil {
		return err
	}
	methods := map[string]bool{}
	var offered string
	for _, l := range r.Lines {
		rest, ok := strings.CutPrefix(l.Text, "AUTH ")
		if !ok {
			continue
		}
		a, err := parseArgs(rest)
		if err != nil {
			return fmt.Errorf("tor: PROTOCOLINFO: %w", err)
		}
		offered = a.kv["METHODS"]
		for m := range strings.SplitSeq(offered, ",") {
			methods[m] = true
		}
	}
	switch {
	case methods["SAFECOOKIE"]:
		return c.authSafeCookie(ctx, cookiePath)
	case methods["COOKIE"]:
		cookie, err := readCookie(cookiePath)
		if err != nil {
			return err
		}
		defer clear(cookie)
		return c.authenticateWith(ctx, cookie)
	case methods["NULL"]:
		_, err := c.command(ctx, "AUTHENTICATE", []byte("AUTHENTICATE"))
		return err
	default:
		return fmt.Errorf("tor: the control port offers no authentication we can do (METHODS=%s)", sanitize(offered))
	}
}

// authSafeCookie does AUTHCHALLENGE and AUTHENTICATE, checking tor's server
// hash before sending ours (control-spec 3.24).
func (c *controlConn) authSafeCookie(ctx context.Context, cookiePath string) error {
	cookie, err := readCookie(cookiePath)
	if err != nil {
		return err
	}
	defer clear(cookie)
	clientNonce := make([]byte, 32)
	if _, err := rand.Read(clientNonce); err != nil {
		return fmt.Errorf("tor: failed to make a nonce: %w", err)
	}
	r, err := c.command(ctx, "AUTHCHALLENGE", []byte("AUTHCHALLENGE SAFECOOKIE "+hex.EncodeToString(clientNonce)))
	if err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(r.firstText(), "AUTHCHALLENGE ")
	if !ok {
		return fmt.Errorf("tor: AUTHCHALLENGE: %w: no AUTHCHALLENGE in the reply", errMalformed)
	}
	a, err := parseArgs(rest)
	if err != nil {
		return fmt.Errorf("tor: AUTHCHALLENGE: %w", err)
	}
	serverHash, err1 := hex.DecodeString(a.kv["SERVERHASH"])
	serverNonce, err2 := hex.DecodeString(a.kv["SERVERNONCE"])
	if err1 != nil || err2 != nil || len(serverHash) != sha256.Size || len(serverNonce) != 32 {
		return fmt.Errorf("tor: AUTHCHALLENGE: %w: SERVERHASH and SERVERNONCE must be 32 bytes in hex", errMalformed)
	}
	mac := func(key string) []byte {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(cookie)
		m.Write(clientNonce)
		m.Write(serverNonce)
		return m.Sum(nil)
	}
	want := mac(safeCookieServerKey)
	defer clear(want)
	if !hmac.Equal(want, serverHash) {
		c.close()
		return errServerHash
	}
	ours := mac(safeCookieClientKey)
	defer clear(ours)
	return c.authenticateWith(ctx, ours)
}

// authenticateWith sends AUTHENTICATE with secret in hex.
func (c *controlConn) authenticateWith(ctx context.Context, secret []byte) error {
	const cmd = "AUTHENTICATE "
	line := make([]byte, len(cmd)+hex.EncodedLen(len(secret)))
	defer clear(line)
	copy(line, cmd)
	hex.Encode(line[len(cmd):], secret)
	_, err := c.command(ctx, "AUTHENTICATE", line)
	return err
}

// readCookie reads tor's control cookie, which must be 32 bytes.
func readCookie(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tor: failed to read the control cookie: %w", err)
	}
	defer f.Close()
	b := make([]byte, cookieLen+1)
	n, err := io.ReadFull(f, b)
	if n != cookieLen || !errors.Is(err, io.ErrUnexpectedEOF) {
		clear(b)
		return nil, fmt.Errorf("tor: the control cookie file %s is not %d bytes", path, cookieLen)
	}
	return b[:cookieLen], nil
}

// getInfo asks for keys and returns their values (a data block's value is
// its data).
func (c *controlConn) getInfo(ctx context.Context, keys ...string) (map[string]string, *reply, error) {
	r, err := c.command(ctx, "GETINFO", []byte("GETINFO "+strings.Join(keys, " ")))
	if err != nil {
		return nil, nil, err
	}
	vals := map[string]string{}
	for _, l := range r.Lines {
		k, v, ok := strings.Cut(l.Text, "=")
		if !ok {
			continue
		}
		if l.Sep == '+' {
			v = string(l.Data)
		}
		vals[k] = v
	}
	for _, k := range keys {
		if _, ok := vals[k]; !ok {
			return nil, nil, fmt.Errorf("tor: GETINFO: %w: no value for %s", errMalformed, k)
		}
	}
	return vals, r, nil
}

// parseQuotedList parses a space-separated list of quoted strings, such as
// GETINFO net/listeners/socks's `"127.0.0.1:9050" "127.0.0.1:9051"`.
func parseQuotedList(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out, nil
		}
		if s[0] != '"' {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			out = append(out, s[:end])
			s = s[end:]
			continue
		}
		v, rest, err := unquote(s)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		s = rest
	}
}

// parseBootstrap parses a bootstrap status: the arguments of a
// "STATUS_CLIENT" event or GETINFO status/bootstrap-phase's value,
// `NOTICE BOOTSTRAP PROGRESS=14 TAG=handshake SUMMARY="..."` (control-spec
// 4.1.10). ok is false for another status, or a malformed one.
func parseBootstrap(s string) (p Progress, ok bool) {
	a, err := parseArgs(s)
	if err != nil || len(a.pos) < 2 || a.pos[1] != "BOOTSTRAP" {
		return Progress{}, false
	}
	pct, err := strconv.Atoi(a.kv["PROGRESS"])
	if err != nil || pct < 0 || pct > 100 {
		return Progress{}, false
	}
	p = Progress{Percent: pct, Tag: sanitize(a.kv["TAG"]), Summary: sanitize(a.kv["SUMMARY"])}
	if a.pos[0] == "WARN" || a.pos[0] == "ERR" {
		p.Warning = sanitize(a.kv["WARNING"])
		if p.Warning == "" {
			p.Warning = "problem bootstrapping"
		}
	}
	return p, true
}
