package cli

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/securechat/securechat/invite"
	"github.com/securechat/securechat/names"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tormode"
	"github.com/securechat/securechat/transfer"
	"github.com/securechat/securechat/transport"
)

// chatOptions are the flags of host and connect.
type chatOptions struct {
	profile     ProfileOptions
	listen      string
	json        bool
	plaintext   bool
	trustNewKey bool
	knownOnly   bool
	lookalike   bool   // --accept-lookalike
	contact     string // --contact NAME
	acceptFiles bool   // --accept-files
	tor         torOptions
}

// runChat runs `securechat host` or `securechat connect`: stdin lines are
// messages, events go to stdout, end of input says goodbye.
func runChat(mode string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o chatOptions
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	AddProfileFlags(fs, &o.profile)
	fs.StringVar(&o.profile.Name, "name", "", "display `name` shown to the partner (default: the profile's)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per event")
	fs.BoolVar(&o.plaintext, "plaintext", false, "DEMONSTRATION ONLY: chat without any encryption, as the paper's unencrypted program")
	fs.BoolVar(&o.trustNewKey, "trust-new-key", false, "accept a partner whose identity key changed (only after comparing safety numbers)")
	fs.BoolVar(&o.knownOnly, "known-only", false, "accept only contacts (and, as host, people you invited); a host then reveals nothing about itself to anyone else")
	fs.BoolVar(&o.lookalike, "accept-lookalike", false, "accept a new key whose name looks like one of your contacts' names (only after comparing safety numbers)")
	fs.BoolVar(&o.acceptFiles, "accept-files", false, "receive every file a contact offers, into the profile (securechat files save copies one out)")
	addTorFlags(fs, &o.tor)
	if mode == "host" {
		fs.StringVar(&o.listen, "listen", fmt.Sprintf("0.0.0.0:%d", transport.DefaultPort), "`address` to listen on (with --tor-only: 127.0.0.1, this computer only)")
	} else {
		fs.StringVar(&o.contact, "contact", "", "dial the contact called `NAME` at its last addresses; only its key is accepted")
	}
	fs.Usage = func() {
		if mode == "host" {
			fmt.Fprintln(stderr, "usage: securechat host [--listen ADDR] [--tor] [--tor-only] [--tor-path PROGRAM] [--name NAME] [--profile DIR] [--passphrase-file FILE] [--json] [--accept-files] [--plaintext] [--trust-new-key] [--known-only] [--accept-lookalike]")
		} else {
			fmt.Fprintln(stderr, "usage: securechat connect HOST[:PORT] | INVITE | --contact NAME [--tor] [--tor-only] [--tor-path PROGRAM] [--name NAME] [--profile DIR] [--passphrase-file FILE] [--json] [--accept-files] [--plaintext] [--trust-new-key] [--known-only] [--accept-lookalike]")
		}
		fs.PrintDefaults()
	}
	pos, code, done := parseCommand(fs, args)
	if done {
		return code
	}
	var (
		err    error
		addr   string
		target session.Target
		inv    *invite.Invite
	)
	switch {
	case mode == "host" && len(pos) != 0,
		mode == "connect" && o.contact == "" && len(pos) != 1,
		mode == "connect" && o.contact != "" && len(pos) != 0:
		fs.Usage()
		return 2
	case mode == "connect" && o.contact == "" && looksLikeInvite(pos[0]):
		if inv, err = invite.Parse(pos[0]); err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return 2
		}
		if inv.Expired(time.Now()) {
			fmt.Fprintf(stderr, "securechat: the invite expired on %s; ask for a new one\n", inv.Expires.Local().Format("2 Jan 2006 15:04"))
			return 1
		}
		if len(inv.Addrs) == 0 {
			fmt.Fprintln(stderr, "securechat: the invite has no address to connect to")
			return 2
		}
		target = session.Target{Addrs: inv.Targets(), InviteKey: inv.FingerprintHex(), InviteSecret: inv.Secret[:], InviteExpires: inv.Expires}
	case mode == "connect" && o.contact == "":
		if addr, err = transport.NormalizeAddr(pos[0]); err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return 2
		}
		target = session.Target{Addrs: []string{addr}}
	}
	if o.profile.Name != "" {
		if err := names.Check(o.profile.Name); err != nil {
			fmt.Fprintln(stderr, "securechat: --name:", strings.TrimPrefix(err.Error(), "names: "))
			return 2
		}
	}
	if o.trustNewKey && o.knownOnly {
		fmt.Fprintln(stderr, "securechat: --trust-new-key and --known-only contradict each other")
		return 2
	}
	if o.plaintext && (inv != nil || o.contact != "") {
		fmt.Fprintln(stderr, "securechat: --plaintext has no contacts or invites; give an address")
		return 2
	}
	if o.plaintext && o.acceptFiles {
		fmt.Fprintln(stderr, "securechat: --plaintext carries no files")
		return 2
	}
	if o.plaintext && (o.tor.on || o.tor.only) {
		fmt.Fprintln(stderr, "securechat: --plaintext does not run through Tor")
		return 2
	}
	listenSet := false
	fs.Visit(func(f *flag.Flag) { listenSet = listenSet || f.Name == "listen" })
	out := newPrinter(stdout, o.json)
	cfg := session.Config{Name: o.profile.Name}
	var (
		tm        *tormode.Mode
		files     *transfer.Engine
		contactOf func(string) (profile.Contact, bool)
	)
	if o.plaintext {
		cfg.Greeting = plaintextGreeting{}
		if cfg.Name == "" {
			cfg.Name = "plaintext"
		}
		fmt.Fprintln(stderr, "WARNING: --plaintext sends everything UNENCRYPTED. Anyone on the network can read and change it. It exists only to show what encryption protects; it cannot talk to a secure SecureChat.")
	} else {
		o.profile.Create = true
		o.profile.Stdin = stdin
		o.profile.Stderr = stderr
		v, err := OpenProfile(o.profile)
		if err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return 1
		}
		defer v.Close()
		cfg.Identity, cfg.Store = v.Identity(), v
		var accept func(transfer.Transfer) bool
		if o.acceptFiles {
			accept = func(t transfer.Transfer) bool {
				_, ok := v.Contact(t.Contact)
				return ok
			}
		}
		// Chat goes on without files when the store cannot be opened,
		// unless files are what the user asked for.
		switch files, err = openFiles(v, accept); {
		case err != nil && o.acceptFiles:
			fmt.Fprintln(stderr, "securechat:", err)
			return 1
		case err != nil:
			fmt.Fprintln(stderr, "securechat: files are off:", err)
		default:
			defer closeFiles(files)
			cfg.Files = files
			contactOf = v.Contact
		}
		if cfg.Name == "" {
			cfg.Name = v.Name()
		}
		cfg.OnlyContacts = o.knownOnly
		if o.contact != "" {
			c, err := contactNamed(v, o.contact)
			if err != nil {
				fmt.Fprintln(stderr, "securechat:", err)
				return 1
			}
			target = session.Target{Addrs: c.Addrs, Contact: c.ID}
		}
		if addr != "" {
			_ = v.AddRecentAddr(addr)
		}
		if o.tor = o.tor.resolve(v); o.tor.on {
			m, err := startTor(v, o.tor, out)
			if err != nil {
				fmt.Fprintln(stderr, "securechat:", err)
				return 1
			}
			defer m.Close()
			tm = m
			withTor(&cfg, m, o.tor)
			if mode == "host" {
				if o.tor.only && !listenSet {
					o.listen = fmt.Sprintf("127.0.0.1:%d", transport.DefaultPort)
				}
			} else if needsTor(target.Addrs, o.tor.only) {
				if err := waitTor(m, torWait); err != nil {
					out.event(jsonEvent{Event: "error", Error: errText(err)}, "Tor mode failed: "+errText(err))
					return 1
				}
			}
		}
	}

	var s *session.Session
	if mode == "host" {
		s, err = session.Host(cfg, o.listen)
	} else {
		s, err = session.ConnectTarget(cfg, target)
	}
	if err != nil {
		out.event(jsonEvent{Event: "error", Error: err.Error()}, setupWords(err, o.listen))
		return 1
	}
	if tm != nil && mode == "host" {
		if err := publishListener(tm, o.listen); err != nil {
			out.event(jsonEvent{Event: "error", Error: err.Error()}, "error: "+err.Error())
		}
	}
	ch := &chat{s: s, o: o, out: out, host: mode == "host"}
	if files != nil {
		ch.files, ch.fileNews, ch.contactOf = files, newFileReporter(out, true), contactOf
	}
	return ch.run(stdin)
}

// chat connects stdin, the controller and stdout. A host may chat with
// several partners at once: typed text goes to the current partner (the
// one connected last), "/to NAME" switches, "/who" lists them, and
// "/send PATH" offers the current partner a file.
type chat struct {
	s    *session.Session
	o    chatOptions
	out  *printer
	host bool
	// files is the profile's transfer engine; nil with --plaintext, or
	// when the profile's files could not be opened.
	files     fileEngine
	fileNews  *fileReporter
	contactOf func(id string) (profile.Contact, bool)

	mu       sync.Mutex
	labels   map[string]string // contact id -> the name to show, for every partner heard of
	online   []string          // connected contacts, in the order they connected
	current  string            // the contact typed text goes to
	backlog  []string          // lines typed before a partner was there
	unacked  map[string]string
	sending  map[string]bool // our transfers offered in this run, until they end
	eof      bool
	exitCode int
}

func (c *chat) run(stdin io.Reader) int {
	c.unacked = map[string]string{}
	c.sending = map[string]bool{}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 0, 64<<10), session.MaxMessageBytes+1)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	events := c.s.Events()
	var fileEvents <-chan transfer.Event
	if c.files != nil {
		fileEvents = c.files.Events()
	}
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				c.mu.Lock()
				c.eof = true
				c.mu.Unlock()
				if c.finished() {
					return c.close()
				}
				continue
			}
			c.typed(line)
		case e, ok := <-events:
			if !ok {
				return c.exitCode
			}
			if stop := c.handle(e); stop {
				return c.close()
			}
			if c.finished() {
				return c.close()
			}
		case e, ok := <-fileEvents:
			if !ok {
				fileEvents = nil
				continue
			}
			c.file(e.Transfer)
			if c.finished() {
				return c.close()
			}
		}
	}
}

// file prints a transfer's news.
func (c *chat) file(t transfer.Transfer) {
	who := c.label(t.Contact)
	if who == "" {
		who = t.Contact[:min(16, len(t.Contact))]
	}
	text := ""
	if t.Outgoing && t.State.Over() {
		c.mu.Lock()
		delete(c.sending, t.ID)
		c.mu.Unlock()
	}
	switch {
	case t.Outgoing:
	case t.State == transfer.StateWaiting && c.o.acceptFiles:
		text = escape(who) + " offers " + fileLabel(t) + "; receiving it ..."
	case t.State == transfer.StateWaiting:
		text = escape(who) + " offers " + fileLabel(t) + "; run with --accept-files to receive files"
	case t.State == transfer.StateDone:
		text = stateWords(t, who) + ". Copy it out with: securechat files save " + t.ID + " PATH"
	}
	c.fileNews.report(t, who, c.contactName(t.Contact), text)
}

// contactName is the name the user gave contact id; "" if it is none.
func (c *chat) contactName(id string) string {
	if c.contactOf != nil {
		if k, ok := c.contactOf(id); ok {
			return k.Name
		}
	}
	return ""
}

// finished reports that input has ended, nothing we sent awaits an ack,
// and no file we offered is still on its way.
func (c *chat) finished() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eof && len(c.backlog) == 0 && len(c.unacked) == 0 && len(c.sending) == 0
}

func (c *chat) close() int {
	_ = c.s.Close()
	for range c.s.Events() {
	}
	return c.exitCode
}

// typed acts on one line of input: a command, or a message for the
// current partner.
func (c *chat) typed(line string) {
	switch {
	case strings.TrimSpace(line) == "":
		return
	case line == "/who":
		c.who()
		return
	case strings.HasPrefix(line, "/to "):
		c.switchTo(strings.TrimSpace(strings.TrimPrefix(line, "/to ")))
		return
	case strings.HasPrefix(line, "/send "):
		c.sendFile(strings.TrimSpace(strings.TrimPrefix(line, "/send ")))
		return
	}
	c.send(line)
}

// sendFile offers the current partner the file at path.
func (c *chat) sendFile(path string) {
	c.mu.Lock()
	to := c.current
	c.mu.Unlock()
	fail := func(msg string) {
		c.out.event(jsonEvent{Event: "error", Error: msg, Contact: to}, "not sent: "+msg)
	}
	switch {
	case c.files == nil:
		fail("files are off (see the warning when this chat started)")
		return
	case to == "":
		fail("nobody is connected yet to send " + escape(path) + " to")
		return
	}
	t, err := c.files.SendFile(to, path)
	if err != nil {
		fail(err.Error())
		return
	}
	c.mu.Lock()
	c.sending[t.ID] = true
	c.mu.Unlock()
	c.file(t)
}

func (c *chat) send(line string) {
	c.mu.Lock()
	to := c.current
	if to == "" {
		c.backlog = append(c.backlog, line)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	id, err := c.s.Send(to, line)
	if err != nil {
		c.out.event(jsonEvent{Event: "error", Error: err.Error(), Contact: to}, "not sent: "+err.Error())
		return
	}
	c.mu.Lock()
	c.unacked[id] = line
	c.mu.Unlock()
}

// who lists the connected partners; the current one is marked.
func (c *chat) who() {
	c.mu.Lock()
	var names, lines []string
	for _, id := range c.online {
		names = append(names, c.labels[id])
		mark := "  "
		if id == c.current {
			mark = "> "
		}
		lines = append(lines, mark+escape(c.labels[id]))
	}
	current := c.labels[c.current]
	c.mu.Unlock()
	text := "Nobody is connected."
	if len(lines) > 0 {
		text = "Connected (> gets what you type):\n" + strings.Join(lines, "\n")
	}
	c.out.event(jsonEvent{Event: "who", Partners: names, Peer: current}, text)
}

// switchTo makes the connected partner called name (or whose fingerprint
// starts with it) the current one.
func (c *chat) switchTo(name string) {
	c.mu.Lock()
	found := ""
	for _, id := range c.online {
		if strings.EqualFold(c.labels[id], name) || (len(name) >= 8 && strings.HasPrefix(id, strings.ToLower(name))) {
			found = id
			break
		}
	}
	if found != "" {
		c.current = found
	}
	c.mu.Unlock()
	if found == "" {
		msg := "nobody called " + name + " is connected; /who lists who is"
		c.out.event(jsonEvent{Event: "error", Error: msg}, escape(msg))
		return
	}
	c.out.human("Now writing to " + escape(c.label(found)) + ".")
}

// label is the name to show for contact id.
func (c *chat) label(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.labels[id]; ok {
		return l
	}
	return ""
}

func (c *chat) learn(p session.Partner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.labels == nil {
		c.labels = map[string]string{}
	}
	c.labels[p.Fingerprint] = p.Label()
}

// handle prints one event and applies the trust policy; stop ends the program.
func (c *chat) handle(e session.Event) (stop bool) {
	switch e := e.(type) {
	case session.Listening:
		text := fmt.Sprintf("Listening on %s. Your partner can connect to: %s", e.Addr, strings.Join(e.Addrs, ", "))
		switch {
		case c.o.tor.only:
			text = fmt.Sprintf("Listening on %s for Tor only: contacts reach you at your onion address (below, once tor has published it).", e.Addr)
		case c.o.tor.on:
			text += "; and through Tor at your onion address (below, once tor has published it)"
		}
		c.out.event(jsonEvent{Event: "listening", Addr: e.Addr, Addrs: e.Addrs}, text)
	case session.ListenStopped:
		if e.Err != nil {
			c.out.event(jsonEvent{Event: "error", Error: e.Err.Error()}, "Stopped listening: "+escape(e.Err.Error()))
		}
	case session.Handshaking:
		if c.o.plaintext {
			c.out.human("Connecting to " + e.Addr + " WITHOUT encryption ...")
		} else {
			c.out.human("Securing the connection with " + e.Addr + " ...")
		}
	case session.Request:
		c.learn(e.Partner)
		c.decide(e.Partner)
	case session.Waiting:
		c.out.human("Waiting for " + escape(e.Partner.Name) + " to accept ...")
	case session.Connected:
		c.connected(e.Partner)
	case session.MessageEvent:
		m := e.Message
		j := jsonEvent{Event: "message", ID: m.ID, From: m.From, Text: m.Text, Time: m.Time.UTC().Format(time.RFC3339Nano), Outgoing: m.Outgoing, Contact: e.Contact}
		if m.Outgoing {
			c.out.event(j, "")
		} else {
			c.out.event(j, fmt.Sprintf("[%s] %s: %s", m.Time.Local().Format("15:04"), escape(m.From), escapeLines(m.Text)))
		}
	case session.Queued:
		c.out.event(jsonEvent{Event: "queued", ID: e.Message.ID, Contact: e.Contact}, "")
	case session.Delivered:
		c.mu.Lock()
		text := c.unacked[e.ID]
		delete(c.unacked, e.ID)
		c.mu.Unlock()
		c.out.event(jsonEvent{Event: "delivered", ID: e.ID, Contact: e.Contact}, "  ✓ delivered: "+snippet(text))
	case session.Failed:
		c.mu.Lock()
		text := c.unacked[e.ID]
		delete(c.unacked, e.ID)
		c.mu.Unlock()
		c.out.event(jsonEvent{Event: "failed", ID: e.ID, Reason: e.Reason.String(), Contact: e.Contact, Error: errText(e.Err)},
			"  ✗ not delivered: "+snippet(text)+" ("+failedWords(e.Reason)+")")
	case session.Ended:
		return c.ended(e)
	case session.TurnedAway:
		c.out.event(jsonEvent{Event: "turned_away", Addr: e.Addr, Reason: e.Reason.String()}, "Turned away a caller from "+e.Addr+" ("+e.Reason.String()+")")
	case session.HistoryError:
		c.out.event(jsonEvent{Event: "error", Error: e.Err.Error(), Contact: e.Contact}, "WARNING: the history is not being saved: "+escape(e.Err.Error()))
	case session.Problem:
		c.out.event(jsonEvent{Event: "error", Error: e.Err.Error()}, "error: "+escape(e.Err.Error()))
	case session.Closed:
	}
	return false
}

// connected reports a partner in and makes it the current one.
func (c *chat) connected(p session.Partner) {
	c.learn(p)
	text := fmt.Sprintf("Connected to %s (%s, %s).\nSafety number: %s\nCompare it with %s's over a channel you trust; if they match, nobody is in between.", escape(p.Label()), p.Addr, trustWords(p.Trust), p.SafetyNumber, escape(p.Label()))
	if c.o.plaintext {
		text = fmt.Sprintf("Connected to %s WITHOUT encryption: anyone on the network can read this chat.", p.Addr)
	}
	c.mu.Lock()
	c.online = append(slices.DeleteFunc(c.online, func(id string) bool { return id == p.Fingerprint }), p.Fingerprint)
	c.current = p.Fingerprint
	several := len(c.online) > 1
	backlog := c.backlog
	c.backlog = nil
	c.mu.Unlock()
	if several {
		text += "\nWhat you type now goes to " + escape(p.Label()) + "; /to NAME switches, /who lists who is connected, /send PATH sends a file."
	}
	c.out.event(jsonEvent{Event: "connected", Peer: p.Name, ContactName: p.ContactName, Contact: p.Fingerprint, SafetyNumber: p.SafetyNumber, Trust: p.Trust.String(), Fingerprint: p.Fingerprint, Addr: p.Addr}, text)
	for _, line := range backlog {
		c.send(line)
	}
}

// ended reports a link's end; the connecting side then stops.
func (c *chat) ended(e session.Ended) (stop bool) {
	c.mu.Lock()
	if e.Connected && e.Reason != session.EndReplaced {
		c.online = slices.DeleteFunc(c.online, func(id string) bool { return id == e.Contact })
		if c.current == e.Contact {
			c.current = ""
			if n := len(c.online); n > 0 {
				c.current = c.online[n-1]
			}
		}
	}
	current := c.labels[c.current]
	left := len(c.online)
	c.mu.Unlock()
	words := endWords(e, c.label(e.Contact))
	c.out.event(jsonEvent{Event: "disconnected", Reason: e.Reason.String(), PeerReason: e.Peer, Contact: e.Contact, Addr: e.Addr, Error: errText(e.Err)}, words)
	if !c.host {
		if !e.Connected || e.Reason != session.EndWeLeft && e.Reason != session.EndPartnerLeft {
			c.exitCode = 1
		}
		return true
	}
	switch {
	case !e.Connected || e.Reason == session.EndReplaced:
	case left == 0:
		c.out.human("Waiting for the next partner ...")
	default:
		c.out.human("What you type now goes to " + escape(current) + ".")
	}
	return false
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// decide applies the terminal's trust policy. Keys decide, never names:
// contacts (known, verified, invited) are let in; a new key is a first
// contact, accepted unless --known-only, and refused when its name looks
// like a contact's unless --accept-lookalike; a changed key (we dialed a
// contact and another key answered) is refused unless --trust-new-key.
func (c *chat) decide(p session.Partner) {
	switch p.Trust {
	case session.TrustKnown, session.TrustVerified, session.TrustInvited:
		_ = c.s.Accept(p.Fingerprint)
	case session.TrustNew:
		if c.o.knownOnly {
			c.out.event(jsonEvent{Event: "error", Error: "refused " + p.Name + ": their key is not one of your contacts and --known-only is set", Contact: p.Fingerprint},
				fmt.Sprintf("Refused %s: their key is not one of your contacts and --known-only is set.", escape(p.Name)))
			c.refuse(p)
			return
		}
		if p.LooksLike != "" && !c.o.lookalike {
			warning := fmt.Sprintf("This is not your contact %s: a different key uses a name (%q) that looks like %s's. Someone may be impersonating %s.", escape(p.LooksLike), p.Name, escape(p.LooksLike), escape(p.LooksLike))
			c.out.event(jsonEvent{Event: "error", Error: warning + " Refused.", Contact: p.Fingerprint, LooksLike: p.LooksLike},
				warning+"\nRefused. If this really is someone new, compare safety numbers with them and run again with --accept-lookalike.")
			c.refuse(p)
			return
		}
		if !c.o.plaintext {
			c.out.human(fmt.Sprintf("%s is new: a first contact (fingerprint %s). Compare the safety number with theirs over a channel you trust.", escape(p.Name), p.Fingerprint))
		}
		_ = c.s.Accept(p.Fingerprint)
	case session.TrustChanged:
		warning := fmt.Sprintf("WARNING: you dialed %s, but another identity key answered (calling itself %q). Someone may be intercepting this chat (a man in the middle).", escape(p.Expected), p.Name)
		if c.o.trustNewKey {
			c.out.event(jsonEvent{Event: "error", Error: warning + " Trusting the new key because of --trust-new-key.", Contact: p.Fingerprint},
				warning+"\nTrusting the new key because of --trust-new-key. Safety number: "+p.SafetyNumber)
			_ = c.s.Accept(p.Fingerprint)
			return
		}
		c.out.event(jsonEvent{Event: "error", Error: warning + " Refused.", Contact: p.Fingerprint},
			warning+"\nRefused. If "+escape(p.Expected)+" really has a new key (a new installation), compare safety numbers in person and run again with --trust-new-key.")
		c.refuse(p)
	}
}

func (c *chat) refuse(p session.Partner) {
	_ = c.s.Decline(p.Fingerprint)
	if !c.host {
		c.exitCode = 1
	}
}

// printer writes events as text lines or JSON objects.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	enc  *json.Encoder
}

type jsonEvent struct {
	Event        string    `json:"event"`
	Addr         string    `json:"addr,omitempty"`
	Addrs        []string  `json:"addrs,omitempty"`
	Peer         string    `json:"peer,omitempty"`
	SafetyNumber string    `json:"safety_number,omitempty"`
	Trust        string    `json:"trust,omitempty"`
	Contact      string    `json:"contact,omitempty"`      // the contact id: the key's fingerprint
	ContactName  string    `json:"contact_name,omitempty"` // the name you gave the contact
	LooksLike    string    `json:"looks_like,omitempty"`
	Fingerprint  string    `json:"fingerprint,omitempty"`
	ID           string    `json:"id,omitempty"`
	From         string    `json:"from,omitempty"`
	Text         string    `json:"text,omitempty"`
	Time         string    `json:"time,omitempty"`
	Outgoing     bool      `json:"outgoing,omitempty"`
	Reason       string    `json:"reason,omitempty"`      // an end reason's machine name: "partner_left", "refused", ...
	PeerReason   string    `json:"peer_reason,omitempty"` // the partner's own words for it, untrusted
	Partners     []string  `json:"partners,omitempty"`    // who: the connected partners
	Error        string    `json:"error,omitempty"`
	File         *jsonFile `json:"file,omitempty"` // a file transfer's news (event "file")
}

func newPrinter(w io.Writer, asJSON bool) *printer {
	return &printer{w: w, json: asJSON, enc: json.NewEncoder(w)}
}

// event prints j in JSON mode, text (if any) otherwise.
func (p *printer) event(j jsonEvent, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		_ = p.enc.Encode(j)
		return
	}
	if text != "" {
		fmt.Fprintln(p.w, text)
	}
}

// human prints a line only in text mode.
func (p *printer) human(text string) {
	if !p.json {
		p.event(jsonEvent{}, text)
	}
}

func snippet(s string) string {
	s = escape(s)
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
