package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/tor"
	"github.com/securechat/securechat/transport"
)

// DefaultInviteExpiry is how long an invite lasts unless the user says.
const DefaultInviteExpiry = 7 * 24 * time.Hour

// RunInvite runs `securechat invite`: it makes an invite, remembers its
// secret in the profile, and prints the code and the securechat: link.
func RunInvite(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o       ProfileOptions
		uses    int
		expires time.Duration
		port    int
		addrs   string
		asJSON  bool
		to      torOptions
	)
	fs := flag.NewFlagSet("invite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	AddProfileFlags(fs, &o)
	fs.IntVar(&uses, "uses", 1, "how many people may use the invite")
	fs.DurationVar(&expires, "expires", DefaultInviteExpiry, "how long the invite stays valid (e.g. 24h)")
	fs.IntVar(&port, "port", transport.DefaultPort, "the `port` you will host on")
	fs.StringVar(&addrs, "addr", "", "comma-separated `addresses` to put in the invite (default: this machine's)")
	fs.BoolVar(&asJSON, "json", false, "print the invite as JSON")
	fs.BoolVar(&to.on, "tor", false, "put the profile's onion address in the invite too (Tor mode; also when the profile's settings say so)")
	fs.BoolVar(&to.only, "tor-only", false, "put only the onion address in the invite, none of this machine's")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: securechat invite [--uses N] [--expires DURATION] [--port PORT] [--addr A,B] [--tor] [--tor-only] [--profile DIR] [--json]")
		fs.PrintDefaults()
	}
	pos, code, done := parseCommand(fs, args)
	if done {
		return code
	}
	if len(pos) != 0 || uses < 1 || uses > 1000 || expires <= 0 || port < 1 || port > 65535 {
		fs.Usage()
		return 2
	}
	hosts := transport.NetworkHosts()
	if addrs != "" {
		hosts = strings.Split(addrs, ",")
	}
	for k, h := range hosts {
		hosts[k] = stripPort(strings.TrimSpace(h))
	}
	o.Stdin, o.Stderr = stdin, stderr
	v, err := OpenProfile(o)
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return 1
	}
	defer v.Close()
	if to = to.resolve(v); to.on {
		seed, err := v.OnionKey()
		if err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return 1
		}
		var key tor.OnionKey
		copy(key[:], seed)
		clear(seed)
		if to.only && addrs == "" {
			hosts = nil
		}
		// The onion address last: a partner tries the others first.
		hosts = append(hosts, key.Address())
	}
	if len(hosts) == 0 {
		fmt.Fprintln(stderr, "securechat: this machine has no network address to put in an invite; give one with --addr")
		return 1
	}
	inv, err := v.MakeInvite(hosts, uint16(port), expires, uses)
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return 1
	}
	text := inv.Code()
	if asJSON {
		_ = json.NewEncoder(stdout).Encode(map[string]any{
			"code": inv.Code(), "uri": inv.URI(), "expires": inv.Expires.UTC().Format(time.RFC3339),
			"uses": uses, "addrs": inv.Targets(), "fingerprint": inv.FingerprintHex(),
		})
		return 0
	}
	fmt.Fprintf(stdout, "Invite (valid until %s, for %d %s):\n\n  %s\n\nor as a link: %s\n\n",
		inv.Expires.Local().Format("2 Jan 2006 15:04"), uses, plural(uses, "person", "people"), text, inv.URI())
	fmt.Fprintf(stdout, "Give it only to the person you invite, over a channel you trust. They run\n  securechat connect %s\nwhile you run `securechat host --listen :%d`. Their key is then known from the first byte.\n", text, port)
	return 0
}

func stripPort(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.Trim(h, "[]")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// looksLikeInvite tells an invite code or link from an address.
func looksLikeInvite(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "securechat:") || strings.HasPrefix(l, "sc1") && len(l) > 40
}

// contactNamed finds the contact the user calls name: exactly, or else
// ignoring case when that is unambiguous.
func contactNamed(v *history.Vault, name string) (profile.Contact, error) {
	var fold []profile.Contact
	for _, c := range v.Contacts() {
		if c.Name == name {
			return c, nil
		}
		if strings.EqualFold(c.Name, name) {
			fold = append(fold, c)
		}
	}
	switch {
	case len(fold) == 1:
		return fold[0], nil
	case len(fold) > 1:
		return profile.Contact{}, fmt.Errorf("several contacts are called %q; rename one (securechat contacts rename)", name)
	}
	return profile.Contact{}, fmt.Errorf("no contact is called %q (securechat contacts lists them)", name)
}

// RunContacts runs `securechat contacts [list|rename ID NAME|delete ID] [--json]`.
func RunContacts(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o      ProfileOptions
		asJSON bool
	)
	fs := flag.NewFlagSet("contacts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	AddProfileFlags(fs, &o)
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: securechat contacts [list | rename NAME NEWNAME | delete NAME] [--profile DIR] [--json]")
		fs.PrintDefaults()
	}
	pos, code, done := parseCommand(fs, args)
	if done {
		return code
	}
	if len(pos) == 0 {
		pos = []string{"list"}
	}
	switch {
	case pos[0] == "list" && len(pos) == 1, pos[0] == "rename" && len(pos) == 3, pos[0] == "delete" && len(pos) == 2:
	default:
		fs.Usage()
		return 2
	}
	o.Stdin, o.Stderr = stdin, stderr
	v, err := OpenProfile(o)
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return 1
	}
	defer v.Close()
	switch pos[0] {
	case "rename", "delete":
		c, err := contactNamed(v, pos[1])
		if err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return 1
		}
		if pos[0] == "rename" {
			err = v.RenameContact(c.ID, pos[2])
		} else {
			err = v.DeleteContact(c.ID)
		}
		if err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return 1
		}
		return 0
	}
	contacts := v.Contacts()
	if asJSON {
		type row struct {
			ID        string   `json:"contact"`
			Name      string   `json:"name"`
			TheirName string   `json:"their_name"`
			Addrs     []string `json:"addrs"`
			Verified  bool     `json:"verified"`
			Invited   bool     `json:"invited"`
			LastSeen  string   `json:"last_seen,omitempty"`
		}
		rows := []row{}
		for _, c := range contacts {
			r := row{ID: c.ID, Name: c.Name, TheirName: c.TheirName, Addrs: c.Addrs, Verified: c.Verified, Invited: c.Invited}
			if !c.LastSeen.IsZero() {
				r.LastSeen = c.LastSeen.UTC().Format(time.RFC3339)
			}
			rows = append(rows, r)
		}
		_ = json.NewEncoder(stdout).Encode(rows)
		return 0
	}
	if len(contacts) == 0 {
		fmt.Fprintln(stdout, "No contacts yet.")
		return 0
	}
	for _, c := range contacts {
		state := "not verified"
		if c.Verified {
			state = "verified"
		} else if c.Invited {
			state = "invited"
		}
		fmt.Fprintf(stdout, "%s  (calls themself %s)  %s  key %s…  %s\n", escape(c.Name), escape(c.TheirName), state, c.ID[:16], strings.Join(c.Addrs, ", "))
	}
	return 0
}
