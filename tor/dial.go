package tor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/proxy"
)

// SOCKSError is tor's refusal of a connection through its SOCKS port: the
// SOCKS5 reply code, tor's extended codes 0xF0..0xF7 for onion services
// included (tor's SocksPort flag ExtendedErrors, which Start sets).
// Code 0xF0 just after a service was published is worth a retry a second
// later: the descriptor may not have reached every directory yet.
type SOCKSError struct {
	Code byte
}

// socksReplies are the words of SOCKS5 reply codes (RFC 1928 section 6) and
// of tor's extended ones (tor(1), SocksPort ExtendedErrors).
var socksReplies = map[byte]string{
	0x01: "general SOCKS server failure",
	0x02: "connection not allowed by ruleset",
	0x03: "network unreachable",
	0x04: "host unreachable",
	0x05: "connection refused",
	0x06: "TTL expired",
	0x07: "command not supported",
	0x08: "address type not supported",
	0xF0: "onion service not found (no descriptor)",
	0xF1: "onion service descriptor is invalid",
	0xF2: "onion service introduction failed",
	0xF3: "onion service rendezvous failed",
	0xF4: "onion service needs client authorization",
	0xF5: "onion service refused our client authorization",
	0xF6: "invalid onion address",
	0xF7: "onion service introduction timed out",
}

func (e *SOCKSError) Error() string {
	words, ok := socksReplies[e.Code]
	if !ok {
		words = "unknown SOCKS error"
	}
	return fmt.Sprintf("%s (SOCKS reply 0x%02X)", words, e.Code)
}

// xnetPrefix starts the error of golang.org/x/net/internal/socks for a
// reply other than success: "unknown error " + the code's String, which is
// either its RFC 1928 name or "unknown code: N".
const xnetPrefix = "unknown error "

// socksCode recovers the reply code from golang.org/x/net/proxy's error.
// TestDial_SOCKSErrorsInWords pins the format with a fake SOCKS server.
func socksCode(err error) (byte, bool) {
	msg := err.Error()
	i := strings.LastIndex(msg, xnetPrefix)
	if i < 0 {
		return 0, false
	}
	s := msg[i+len(xnetPrefix):]
	if n, ok := strings.CutPrefix(s, "unknown code: "); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > 255 {
			return 0, false
		}
		return byte(v), true
	}
	for code := byte(0x01); code <= 0x08; code++ {
		if s == socksReplies[code] {
			return code, true
		}
	}
	return 0, false
}

// Dial connects to addr ("host:port", a .onion or not) through tor's SOCKS
// port (golang.org/x/net/proxy SOCKS5, honouring ctx). Errors from SOCKS say
// what failed in words, and wrap a [*SOCKSError] with the code.
func (t *Tor) Dial(ctx context.Context, addr string) (net.Conn, error) {
	select {
	case <-t.done:
		return nil, fmt.Errorf("tor: dial %s: tor is not running: %w", addr, t.Err())
	default:
	}
	return dialSOCKS(ctx, t.socks, addr)
}

func dialSOCKS(ctx context.Context, socksAddr, addr string) (net.Conn, error) {
	d, err := proxy.SOCKS5("tcp", socksAddr, nil, &net.Dialer{})
	if err != nil {
		return nil, fmt.Errorf("tor: dial %s: %w", addr, err)
	}
	cd, ok := d.(proxy.ContextDialer)
	if !ok {
		return nil, errors.New("tor: golang.org/x/net/proxy's SOCKS5 dialer takes no context")
	}
	conn, err := cd.DialContext(ctx, "tcp", addr)
	if err != nil {
		cerr := ctx.Err()
		if _, ok := ctx.Deadline(); ok && cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			// x/net sets ctx's deadline on the socket, which may expire
			// a moment before ctx says so.
			cerr = context.DeadlineExceeded
		}
		if cerr != nil {
			return nil, fmt.Errorf("tor: dial %s through tor: %w (%v)", addr, cerr, err)
		}
		if code, ok := socksCode(err); ok {
			return nil, fmt.Errorf("tor: dial %s through tor: %w", addr, &SOCKSError{Code: code})
		}
		return nil, fmt.Errorf("tor: dial %s through tor: %w", addr, err)
	}
	return conn, nil
}
