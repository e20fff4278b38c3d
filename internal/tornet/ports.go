package tornet

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// handedOut holds every port this process has given to a network, so that
// two networks started at the same time (or one after another, before the
// kernel has cycled through its ephemeral range) never share one. Ports are
// not returned: a test process starts a handful of networks at most.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago and that no other network of this process uses. Each port is
// found by listening on 127.0.0.1:0; the listeners are held until all n
// are known, so the kernel cannot hand the same one out twice, then closed
// for tor to bind. Another process may still take one in between: tor then
// says "Address already in use" and Start tries again with new ports.
func freePorts(n int) ([]int, error) {
	var (
		held  []net.Listener
		ports []int
	)
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n+100 {
			return nil, errors.New("tornet: no free port found on 127.0.0.1")
		}
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("tornet: finding a free port on 127.0.0.1: %w", err)
		}
		held = append(held, l)
		p := l.Addr().(*net.TCPAddr).Port
		if handedOut[p] {
			continue // an earlier network of ours has it; keep this listener so the kernel moves on
		}
		ports = append(ports, p)
	}
	for _, p := range ports {
		handedOut[p] = true
	}
	return ports, nil
}
