package tor

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeSOCKS is a SOCKS5 server (RFC 1928, no authentication) that answers
// every CONNECT with code, and on success echoes what it gets. It reports
// each requested host:port.
func fakeSOCKS(t *testing.T, code byte) (string, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	asked := make(chan string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 262)
				if _, err := io.ReadFull(c, b[:2]); err != nil || b[0] != 5 {
					return
				}
				if _, err := io.ReadFull(c, b[:b[1]]); err != nil {
					return
				}
				_, _ = c.Write([]byte{5, 0})
				if _, err := io.ReadFull(c, b[:4]); err != nil || b[1] != 1 {
					return
				}
				var host string
				switch b[3] {
				case 1:
					_, _ = io.ReadFull(c, b[:4])
					host = net.IP(b[:4]).String()
				case 3:
					_, _ = io.ReadFull(c, b[:1])
					n := int(b[0])
					_, _ = io.ReadFull(c, b[:n])
					host = string(b[:n])
				default:
					return
				}
				_, _ = io.ReadFull(c, b[:2])
				asked <- net.JoinHostPort(host, strconv.Itoa(int(b[0])<<8|int(b[1])))
				_, _ = c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
				if code == 0 {
					_, _ = io.Copy(c, c)
				}
			}()
		}
	}()
	return ln.Addr().String(), asked
}

func TestDial_SOCKSErrorsInWords(t *testing.T) {
	for _, tc := range []struct {
		code  byte
		words string
	}{
		{0x01, "general SOCKS server failure"},
		{0x04, "host unreachable"},
		{0x05, "connection refused"},
		{0x08, "address type not supported"},
		{0xF0, "onion service not found"},
		{0xF2, "onion service introduction failed"},
		{0xF6, "invalid onion address"},
		{0xF7, "onion service introduction timed out"},
		{0x42, "unknown SOCKS error"},
	} {
		socks, asked := fakeSOCKS(t, tc.code)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := dialSOCKS(ctx, socks, rfc8032Address+":7000")
		cancel()
		require.Equal(t, rfc8032Address+":7000", <-asked, "the name goes to tor, not resolved here")
		var se *SOCKSError
		require.True(t, errors.As(err, &se), "%v", err)
		require.Equal(t, tc.code, se.Code)
		require.ErrorContains(t, err, tc.words)
		require.ErrorContains(t, err, rfc8032Address)
	}
}

func TestDial_ThroughSOCKS(t *testing.T) {
	socks, _ := fakeSOCKS(t, 0)
	conn, err := dialSOCKS(context.Background(), socks, "example.com:80")
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("ping"))
	require.NoError(t, err)
	b := make([]byte, 4)
	_, err = io.ReadFull(conn, b)
	require.NoError(t, err)
	require.Equal(t, "ping", string(b))
}

func TestDial_HonoursContext(t *testing.T) {
	// A SOCKS server that never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = dialSOCKS(ctx, ln.Addr().String(), "example.com:80")
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestDial_RefusedBySOCKSPortItself(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = dialSOCKS(context.Background(), addr, "example.com:80")
	require.Error(t, err)
	var se *SOCKSError
	require.False(t, errors.As(err, &se))
}
