package tornet

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testNodes is a planned network of 1 authority and 3 relays, with ports
// and keys filled in as Start would.
func testNodes(t *testing.T) ([]*node, shared) {
	dir := t.TempDir()
	nodes := plan(dir, Options{Authorities: 1, Relays: 3})
	for i, nd := range nodes {
		nd.orPort = 5000 + i
	}
	nodes[0].dirPort = 6000
	nodes[0].identity = strings.Repeat("A", 40)
	nodes[0].v3ident = strings.Repeat("B", 40)
	join := joinLines(nodes[:1])
	return nodes, shared{join: join, ownerPID: 42, hsdirs: "$" + strings.Repeat("A", 40), empty: filepath.Join(dir, "empty"), offset: 3}
}

func TestJoinLines(t *testing.T) {
	nodes, _ := testNodes(t)
	assert.Equal(t, []string{
		"TestingTorNetwork 1",
		"DirAuthority auth0 orport=5000 no-v2 v3ident=" + strings.Repeat("B", 40) + " 127.0.0.1:6000 " + strings.Repeat("A", 40),
		"AssumeReachable 1",
		"PathsNeededToBuildCircuits 0.67",
		"UseEntryGuards 0",
	}, joinLines(nodes[:1]))
}

// torrcOptions returns a torrc's options as key -> values.
func torrcOptions(torrc string) map[string][]string {
	opts := map[string][]string{}
	for line := range strings.Lines(torrc) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		opts[k] = append(opts[k], v)
	}
	return opts
}

func TestTorrc_EveryAddressOnLoopback(t *testing.T) {
	nodes, sh := testNodes(t)
	for _, nd := range nodes {
		t.Run(nd.nick, func(t *testing.T) {
			opts := torrcOptions(nd.torrc(sh))
			assert.Equal(t, []string{"127.0.0.1"}, opts["Address"])
			assert.Equal(t, []string{"127.0.0.1:" + strconv.Itoa(nd.orPort)}, opts["ORPort"])
			assert.Equal(t, []string{"0"}, opts["SocksPort"], "relays take no clients")
			assert.Equal(t, []string{"42"}, opts["__OwningControllerProcess"])
			assert.Equal(t, []string{"1"}, opts["TestingTorNetwork"])
			assert.Equal(t, []string{quote(nd.dir)}, opts["DataDirectory"])
			assert.Equal(t, []string{"notice stdout"}, opts["Log"])
			assert.Len(t, opts["DirAuthority"], 1)
			assert.NotContains(t, opts, "ControlPort")
			if nd.authority {
				assert.Equal(t, []string{"127.0.0.1:6000"}, opts["DirPort"])
				assert.Equal(t, []string{"1"}, opts["V3AuthoritativeDirectory"])
				assert.Equal(t, []string{"3"}, opts["TestingV3AuthVotingStartOffset"])
				assert.Equal(t, []string{"$" + strings.Repeat("A", 40)}, opts["TestingDirAuthVoteHSDir"])
			} else {
				assert.NotContains(t, opts, "DirPort")
				assert.Equal(t, []string{"0"}, opts["DirCache"])
				assert.NotContains(t, opts, "AuthoritativeDirectory")
			}
		})
	}
}

func TestQuote(t *testing.T) {
	assert.Equal(t, `"/tmp/a b"`, quote("/tmp/a b"))
	assert.Equal(t, `"C:\\Users\\x \"y\" #z"`, quote(`C:\Users\x "y" #z`))
}

func TestFirstVoteOffset_PlacesTheFirstConsensus(t *testing.T) {
	for _, launch := range []time.Time{
		time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 27, 20, 0, 3, 400e6, time.UTC),
		time.Date(2026, 11, 27, 20, 0, 3, 600e6, time.UTC),
		time.Date(2026, 11, 27, 23, 59, 57, 0, time.UTC),
	} {
		off := firstVoteOffset(launch)
		require.True(t, 0 <= off && off < initialVotingInterval, "offset %d", off)
		// tor: the first interval start after its scheduling (about 1 s
		// after launch) that is the offset plus a multiple of the interval
		// from midnight.
		sched := launch.Add(time.Second).Unix()
		next := (sched/initialVotingInterval+1)*initialVotingInterval + int64(off)
		if next-initialVotingInterval > sched {
			next -= initialVotingInterval
		}
		lead := time.Unix(next, 0).Sub(launch)
		assert.InDelta(t, firstConsensusDelay.Seconds(), lead.Seconds(), 0.5, "launch %s", launch)
	}
}
