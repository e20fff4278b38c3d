package transport

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// notSentLowat reads TCP_NOTSENT_LOWAT of c.
func notSentLowat(t *testing.T, c *Conn) int {
	t.Helper()
	rc, err := c.c.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	var v int
	var gerr error
	require.NoError(t, rc.Control(func(fd uintptr) {
		v, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
	}))
	require.NoError(t, gerr)
	return v
}

func TestConn_TheKernelHoldsLittleUnsentSoChatCanOvertakeFileChunks(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan *Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	d, err := Dial(context.Background(), ln.Addr().String())
	require.NoError(t, err)
	defer d.Close()
	a := <-accepted
	defer a.Close()
	assert.Equal(t, UnsentLimit, notSentLowat(t, d), "dialed")
	assert.Equal(t, UnsentLimit, notSentLowat(t, a), "accepted")
}
