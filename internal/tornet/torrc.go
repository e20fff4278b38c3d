package tornet

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// node is one tor of the network as planned: its name, ports and keys.
type node struct {
	nick      string
	authority bool
	dir       string // its DataDirectory (the torrc is in it)
	orPort    int
	dirPort   int    // authorities only
	identity  string // relay identity fingerprint, 40 hex; authorities only
	v3ident   string // authority identity (tor-gencert's certificate); authorities only
}

// Voting schedule of the authorities. The later consensuses come every
// 10 s, the shortest tor accepts (vote + dist delay, at least 2 s each,
// must be less than half the interval: dirauth_config.c). The first one
// comes on a 6 s schedule, for which tor uses 1 s vote and dist delays (a
// quarter of it): the authorities vote 2 s before it is valid.
const (
	initialVotingInterval = 6
	votingInterval        = 10
	voteDelay             = 2
	distDelay             = 2
)

// firstConsensusDelay is how long after the authorities' launch the first
// consensus should be valid from. The relays, launched right after the
// authorities listen, upload their descriptors 1.4 s after their launch on
// a quiet machine, up to 4 s under load (a relay makes an RSA TLS key at
// start): a vote 4 s in lists them all, bar rare misses under heavy load.
// Left to the clock, a vote often came before some uploads, and the next
// consensus 10 s later.
const firstConsensusDelay = 6 * time.Second

// firstVoteOffset returns the TestingV3AuthVotingStartOffset that makes
// the first consensus of authorities launched at launch valid from
// launch+firstConsensusDelay, give or take half a second. Tor starts its
// intervals at midnight UTC plus the offset, every initialVotingInterval
// seconds, and takes the first one after it schedules its voting, about 1
// s after its launch: so firstConsensusDelay must not be longer than
// initialVotingInterval, or the authority votes at once, before the relays
// are there (and if it schedules later than the planned time, the first
// consensus is one interval later).
func firstVoteOffset(launch time.Time) int {
	at := launch.Add(firstConsensusDelay).Round(time.Second).Unix()
	return int(at % initialVotingInterval)
}

// quote makes s one torrc value: a C-style quoted string (tor unescapes
// \\ and \"), so that a path with spaces or a '#' is read as it is. s has
// no control characters (Start checks its directory).
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// joinLines are the lines any tor joining the network needs (Network.Torrc).
func joinLines(auths []*node) []string {
	lines := []string{"TestingTorNetwork 1"}
	for _, a := range auths {
		lines = append(lines, fmt.Sprintf("DirAuthority %s orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s",
			a.nick, a.orPort, a.v3ident, a.dirPort, a.identity))
	}
	return append(lines,
		// Without it the authority's reachability test delays the relays'
		// Running flag; for clients it is harmless.
		"AssumeReachable 1",
		// A handful of relays: build circuits once 2/3 of the paths are known.
		"PathsNeededToBuildCircuits 0.67",
		// Any relay may be the first hop. With entry guards a joining tor
		// had one: only directory caches are guards and only the
		// authorities are caches (the relays have DirCache 0). One failed
		// circuit through it would mark it down for tor's retry delay of
		// 10 minutes: the likely cause of a CI run whose app's tor stayed
		// at "Bootstrapped 75%" (NOTES-for-integrator.md).
		"UseEntryGuards 0",
	)
}

// shared is what every tor of a network has in its torrc beside its own
// ports and name.
type shared struct {
	join     []string // Network.Torrc
	ownerPID int      // __OwningControllerProcess: the test process
	hsdirs   string   // TestingDirAuthVoteHSDir: the authorities
	// empty is an empty file: tor's GeoIP files (parsing them took 2.5 s
	// of a relay's start) and its resolver configuration (a non-exit relay
	// needs no DNS; nothing goes to the system's name servers).
	empty string
	// offset is the authorities' TestingV3AuthVotingStartOffset in
	// seconds, to place the first consensus (see firstVoteOffset).
	offset int
}

// torrc returns the configuration of n. Every address is explicit and on
// 127.0.0.1.
func (n *node) torrc(sh shared) string {
	lines := []string{
		"# A tor of a private test network on 127.0.0.1 (internal/tornet).",
		"DataDirectory " + quote(n.dir),
		"Nickname " + n.nick,
		"Log notice stdout",
		"LogTimeGranularity 1",
		"SafeLogging 0",
		// Exit at once on SIGINT too, and when the test process is gone.
		"ShutdownWaitLength 0",
		"__OwningControllerProcess " + strconv.Itoa(sh.ownerPID),
		"SocksPort 0",
		"Address 127.0.0.1",
		"ORPort 127.0.0.1:" + strconv.Itoa(n.orPort),
		"ExitRelay 0",
		"ContactInfo " + n.nick + "@tornet.invalid",
		"GeoIPFile " + quote(sh.empty),
		"GeoIPv6File " + quote(sh.empty),
		"ServerDNSResolvConfFile " + quote(sh.empty),
		"ServerDNSDetectHijacking 0",
		"ServerDNSTestAddresses",
		// Statistics are of no use here; they cost time at start.
		"DirReqStatistics 0",
		"HiddenServiceStatistics 0",
		"ExtraInfoStatistics 0",
	}
	lines = append(lines, sh.join...)
	if !n.authority {
		// Only the authorities serve directory information: a relay cache
		// that has not yet fetched the new consensus's microdescriptors
		// made joining clients stall 10 s at "Bootstrapped 50%
		// (loading_descriptors)".
		lines = append(lines, "DirCache 0")
		return strings.Join(lines, "\n") + "\n"
	}
	lines = append(lines,
		"AuthoritativeDirectory 1",
		"V3AuthoritativeDirectory 1",
		"DirPort 127.0.0.1:"+strconv.Itoa(n.dirPort),
		"TestingV3AuthInitialVotingInterval "+strconv.Itoa(initialVotingInterval),
		"TestingV3AuthInitialVoteDelay "+strconv.Itoa(voteDelay),
		"TestingV3AuthInitialDistDelay "+strconv.Itoa(distDelay),
		"V3AuthVotingInterval "+strconv.Itoa(votingInterval),
		"V3AuthVoteDelay "+strconv.Itoa(voteDelay),
		"V3AuthDistDelay "+strconv.Itoa(distDelay),
		"V3AuthNIntervalsValid 2",
		// Every relay may be a guard at once (no uptime history needed).
		"TestingDirAuthVoteGuard *",
		// The directory caches (the authorities) are the HSDirs.
		"TestingDirAuthVoteHSDir "+sh.hsdirs,
		"TestingV3AuthVotingStartOffset "+strconv.Itoa(sh.offset),
	)
	return strings.Join(lines, "\n") + "\n"
}

// writeTorrc writes n's torrc into its data directory and returns its path.
func (n *node) writeTorrc(content string) (string, error) {
	path := n.dir + string(os.PathSeparator) + "torrc"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("tornet: %s: writing torrc: %w", n.nick, err)
	}
	return path, nil
}
