// Package transport carries SecureChat frames over TCP: listen and dial
// (IPv4 and IPv6), a 4-byte big-endian length before every frame, a size
// limit checked before anything is allocated, and deadlines. It does not
// know what is inside a frame.
package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultPort is the paper's port.
const DefaultPort = 9999

// MaxFrameSize is the largest frame payload either side accepts or sends.
// A 64 KiB message body sealed in a record fits with room to spare.
const MaxFrameSize = 128 << 10

// HeaderSize is the length prefix before every frame.
const HeaderSize = 4

// DefaultWriteTimeout bounds one frame write.
const DefaultWriteTimeout = 15 * time.Second

// ErrFrameTooLarge is returned for a length prefix over [MaxFrameSize]; the
// payload is neither read nor allocated.
var ErrFrameTooLarge = errors.New("transport: frame larger than the limit")

// ErrEmptyFrame is returned for a zero length prefix.
var ErrEmptyFrame = errors.New("transport: empty frame")

// Conn is one TCP connection carrying frames. Reads must come from one
// goroutine; writes may come from several.
type Conn struct {
	c   net.Conn
	r   *bufio.Reader
	wmu sync.Mutex
	// WriteTimeout bounds each WriteFrame; zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// NewConn wraps an established connection.
func NewConn(c net.Conn) *Conn {
	return &Conn{c: c, r: bufio.NewReaderSize(c, 16<<10)}
}

// Frame returns payload with its length prefix: the bytes WriteFrame puts
// on the wire.
func Frame(payload []byte) []byte {
	b := make([]byte, HeaderSize, HeaderSize+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// ReadFrame reads one frame. The length is checked against MaxFrameSize
// before the payload is allocated.
func (c *Conn) ReadFrame() ([]byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("transport: connection closed in the middle of a frame header: %w", err)
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrameSize {
		return nil, fmt.Errorf("%w: %d bytes announced, at most %d allowed", ErrFrameTooLarge, n, MaxFrameSize)
	}
	if n == 0 {
		return nil, ErrEmptyFrame
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("transport: connection closed in the middle of a frame: %w", io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("transport: failed to read frame: %w", err)
	}
	return buf, nil
}

// WriteFrame writes payload as one frame, within the write timeout.
func (c *Conn) WriteFrame(payload []byte) error {
	if len(payload) > MaxFrameSize {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(payload))
	}
	if len(payload) == 0 {
		return ErrEmptyFrame
	}
	return c.WriteRaw(Frame(payload))
}

// WriteRaw writes bytes already framed by [Frame].
func (c *Conn) WriteRaw(b []byte) error {
	to := c.WriteTimeout
	if to == 0 {
		to = DefaultWriteTimeout
	}
	_, err := c.WriteRawWithin(b, to)
	return err
}

// WriteRawWithin writes bytes already framed by [Frame] within timeout and
// returns how many it wrote. After a timeout b[n:] has not been sent: the
// caller must send it before anything else, or the stream is broken.
func (c *Conn) WriteRawWithin(b []byte, timeout time.Duration) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return 0, fmt.Errorf("transport: %w", err)
	}
	n, err := c.c.Write(b)
	if err != nil {
		return n, fmt.Errorf("transport: failed to write frame: %w", err)
	}
	return n, nil
}

// Buffered returns how many bytes have been read from the socket but not
// yet returned by ReadFrame: more than zero means the next frame, or part
// of it, is already here. Like ReadFrame, it is for the reading goroutine.
func (c *Conn) Buffered() int { return c.r.Buffered() }

// SetReadDeadline bounds the next reads; the zero time removes the bound.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.c.SetReadDeadline(t) }

// SetDeadline bounds reads and writes; the handshake uses it.
func (c *Conn) SetDeadline(t time.Time) error { return c.c.SetDeadline(t) }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() string { return c.c.RemoteAddr().String() }

// Close closes the connection; a blocked ReadFrame returns.
func (c *Conn) Close() error { return c.c.Close() }

// CloseWrite half-closes the connection after a goodbye, where TCP allows.
func (c *Conn) CloseWrite() error {
	if tc, ok := c.c.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}

// Listener accepts SecureChat connections.
type Listener struct{ l net.Listener }

// Listen listens on addr ("host:port", ":port", or a bare port); IPv4 and
// IPv6 both work, and ":9999" or "0.0.0.0:9999" follow the system's rules.
func Listen(addr string) (*Listener, error) {
	if _, err := strconv.Atoi(addr); err == nil {
		addr = ":" + addr
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: failed to listen on %s: %w", addr, err)
	}
	return &Listener{l: l}, nil
}

// Accept waits for the next connection.
func (l *Listener) Accept() (*Conn, error) {
	c, err := l.l.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
		limitUnsent(tc)
	}
	return NewConn(c), nil
}

// UnsentLimit is how many bytes a connection leaves unsent in the kernel
// at most, where the system allows it to be set (Linux and macOS): what a
// chat message may wait behind once the session has written it.
const UnsentLimit = 128 << 10

// Addr returns the bound address.
func (l *Listener) Addr() net.Addr { return l.l.Addr() }

// Close stops listening; a blocked Accept returns.
func (l *Listener) Close() error { return l.l.Close() }

// ErrOnion: [Dial] of a .onion address, which only tor can reach.
var ErrOnion = errors.New("transport: a .onion address is reached only through Tor")

// Dial connects to addr, adding [DefaultPort] when addr has no port.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	hostport, err := NormalizeAddr(addr)
	if err != nil {
		return nil, err
	}
	if IsOnion(hostport) {
		return nil, ErrOnion
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("transport: failed to connect to %s: %w", hostport, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
		limitUnsent(tc)
	}
	return NewConn(c), nil
}

// IsOnion reports whether addr ("host" or "host:port") names a Tor onion
// service. Such a name is reached only through tor: it must never be
// handed to the system's resolver, which would tell the network whom we
// are about to reach.
func IsOnion(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return strings.HasSuffix(host, ".onion") || host == "onion"
}

// NormalizeAddr turns "host", "host:port", "::1", "[::1]" or "[::1]:port"
// into a dialable "host:port", with [DefaultPort] when none is given.
func NormalizeAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", errors.New("transport: the address is empty")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a bare host name, IPv4 address or IPv6 address.
		host = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		port = strconv.Itoa(DefaultPort)
	}
	if host == "" {
		return "", fmt.Errorf("transport: no host in address %q", addr)
	}
	if strings.ContainsAny(host, " /\\") {
		return "", fmt.Errorf("transport: %q is not a host name or address", host)
	}
	if _, err := ParsePort(port); err != nil {
		return "", err
	}
	return net.JoinHostPort(host, port), nil
}

// ParsePort accepts a TCP port number from 1 to 65535.
func ParsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("transport: %q is not a port (1 to 65535)", s)
	}
	return p, nil
}

// LocalAddrs lists the addresses a partner could dial to reach a listener
// on port: this machine's network addresses ([NetworkHosts]), then loopback.
func LocalAddrs(port int) []string {
	hosts, loop := localHosts()
	out := make([]string, 0, len(hosts)+len(loop))
	for _, h := range append(hosts, loop...) {
		out = append(out, net.JoinHostPort(h, strconv.Itoa(port)))
	}
	return out
}

// NetworkHosts lists this machine's addresses that another machine could
// dial, without a port: every up interface's address that is not loopback,
// link-local or multicast, IPv4 first. Invites carry them.
func NetworkHosts() []string {
	hosts, _ := localHosts()
	return hosts
}

// localHosts returns the network addresses (IPv4 first) and the loopback
// addresses of the up interfaces.
func localHosts() (hosts, loop []string) {
	var v4, v6 []string
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() {
				continue
			}
			switch {
			case ipn.IP.IsLoopback():
				loop = append(loop, ipn.IP.String())
			case ipn.IP.To4() != nil:
				v4 = append(v4, ipn.IP.String())
			default:
				v6 = append(v6, ipn.IP.String())
			}
		}
	}
	return append(v4, v6...), loop
}
