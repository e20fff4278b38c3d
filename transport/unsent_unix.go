//go:build linux || darwin

package transport

import (
	"net"

	"golang.org/x/sys/unix"
)

// limitUnsent caps the bytes the kernel holds for c that it has not yet
// sent (TCP_NOTSENT_LOWAT). Without it the kernel's send buffer, which
// grows to megabytes, would queue file chunks in front of a chat message
// the session wants to send first; with it they wait in the session's own
// queue, where chat overtakes them (docs/PROTOCOL.md section 12.5).
func limitUnsent(c *net.TCPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, UnsentLimit)
	})
}
