//go:build !linux && !darwin

package transport

import "net"

// limitUnsent does nothing here: the system has no TCP_NOTSENT_LOWAT, and
// the kernel's send buffer may hold file chunks ahead of a chat message.
func limitUnsent(*net.TCPConn) {}
