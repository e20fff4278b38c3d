package tornet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxConsensus bounds what we read from an authority: a consensus of a few
// relays is a few KiB.
const maxConsensus = 4 << 20

// consensusPath is where a directory authority serves the current (full,
// "ns" flavoured) consensus on its DirPort.
const consensusPath = "/tor/status-vote/current/consensus"

// router is one relay as a consensus lists it.
type router struct {
	Nickname string
	Address  string
	ORPort   int
	Flags    []string
}

// consensus is the part of a network-status consensus that tells whether
// a joining tor can use the network.
type consensus struct {
	ValidAfter string
	Routers    []router
}

// parseConsensus reads a network-status consensus (either flavour: the
// "ns" one has a descriptor digest in its "r" lines, the microdescriptor
// one does not). It checks the shape of what it uses and ignores the rest;
// signatures are not checked (the authority is ours, on 127.0.0.1).
func parseConsensus(b []byte) (consensus, error) {
	var c consensus
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if !strings.HasPrefix(line, "network-status-version 3") {
				return consensus{}, errors.New("tornet: not a consensus: no network-status-version 3")
			}
			continue
		}
		keyword, rest, _ := strings.Cut(line, " ")
		switch keyword {
		case "valid-after":
			c.ValidAfter = rest
		case "r":
			f := strings.Fields(rest)
			// ns: nick identity digest date time IP ORPort DirPort (8)
			// microdesc: nick identity date time IP ORPort DirPort (7)
			if len(f) != 8 && len(f) != 7 {
				return consensus{}, fmt.Errorf("tornet: consensus: malformed r line (%d fields)", len(f))
			}
			ip := f[len(f)-3]
			if net.ParseIP(ip) == nil {
				return consensus{}, fmt.Errorf("tornet: consensus: malformed address %.40q in an r line", ip)
			}
			port, err := strconv.Atoi(f[len(f)-2])
			if err != nil || port < 0 || port > 65535 {
				return consensus{}, fmt.Errorf("tornet: consensus: malformed ORPort %.20q in an r line", f[len(f)-2])
			}
			c.Routers = append(c.Routers, router{Nickname: f[0], Address: ip, ORPort: port})
		case "s":
			if len(c.Routers) == 0 {
				return consensus{}, errors.New("tornet: consensus: s line before any r line")
			}
			c.Routers[len(c.Routers)-1].Flags = strings.Fields(rest)
		case "directory-footer":
			return c, nil
		}
	}
	if err := sc.Err(); err != nil {
		return consensus{}, fmt.Errorf("tornet: consensus: %w", err)
	}
	if first {
		return consensus{}, errors.New("tornet: not a consensus: empty")
	}
	return consensus{}, errors.New("tornet: consensus: truncated (no directory-footer)")
}

// wantRouter is a relay of ours that the consensus must list, on our
// address and port, with the flags a joining tor needs from it.
type wantRouter struct {
	Nickname string
	ORPort   int
	Flags    []string
}

// missing returns what keeps c from serving a joining tor: relays not
// listed, or listed without a flag they need. Empty means ready.
func (c consensus) missing(want []wantRouter) []string {
	var out []string
	for _, w := range want {
		i := slices.IndexFunc(c.Routers, func(r router) bool {
			return r.Nickname == w.Nickname && r.Address == "127.0.0.1" && r.ORPort == w.ORPort
		})
		if i < 0 {
			out = append(out, w.Nickname+" not listed")
			continue
		}
		var lacks []string
		for _, f := range w.Flags {
			if !slices.Contains(c.Routers[i].Flags, f) {
				lacks = append(lacks, f)
			}
		}
		if len(lacks) > 0 {
			out = append(out, w.Nickname+" lacks "+strings.Join(lacks, ","))
		}
	}
	return out
}

// dirClient talks to our authorities' DirPorts only: no proxy from the
// environment, 127.0.0.1 only.
var dirClient = &http.Client{
	Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil || host != "127.0.0.1" {
				return nil, fmt.Errorf("tornet: refusing to fetch from %q: 127.0.0.1 only", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp4", addr)
		},
	},
	Timeout: 3 * time.Second,
}

// errNoConsensus means the authority answered but has no consensus yet
// (404), the usual state for the first seconds.
var errNoConsensus = errors.New("tornet: the authority has no consensus yet")

// fetchConsensus fetches and parses the current consensus from the
// authority whose DirPort is dirPort on 127.0.0.1.
func fetchConsensus(ctx context.Context, dirPort int) (consensus, error) {
	url := "http://127.0.0.1:" + strconv.Itoa(dirPort) + consensusPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return consensus{}, fmt.Errorf("tornet: consensus request: %w", err)
	}
	// Asked for gzip (Go's default), tor answers deflate, which Go leaves
	// compressed.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := dirClient.Do(req)
	if err != nil {
		return consensus{}, fmt.Errorf("tornet: fetching the consensus: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusNotFound {
		return consensus{}, errNoConsensus
	}
	if resp.StatusCode != http.StatusOK {
		return consensus{}, fmt.Errorf("tornet: fetching the consensus: HTTP %d", resp.StatusCode)
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		return consensus{}, fmt.Errorf("tornet: the consensus came %.20q-encoded", enc)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxConsensus+1))
	if err != nil {
		return consensus{}, fmt.Errorf("tornet: reading the consensus: %w", err)
	}
	if len(b) > maxConsensus {
		return consensus{}, fmt.Errorf("tornet: consensus larger than %d bytes", maxConsensus)
	}
	return parseConsensus(b)
}
