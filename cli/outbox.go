package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
)

// Exit codes of `securechat send`.
const (
	SendDelivered = 0 // the contact acknowledged the message
	SendError     = 1 // nothing was queued (no such contact, the profile, the disk)
	SendUsage     = 2 // bad arguments
	SendQueued    = 3 // queued durably, not delivered within --wait; it goes out later
)

// DefaultSendWait is how long `securechat send` tries to deliver.
const DefaultSendWait = 30 * time.Second

// queueTimeout bounds the wait for the history to make the message durable.
const queueTimeout = 30 * time.Second

// RunSend runs `securechat send CONTACT TEXT [--wait DURATION]`: the message
// is queued durably in the contact's outbox, then delivered if the contact
// can be reached within the wait. The exit code says which (SendDelivered,
// SendQueued, SendError, SendUsage).
func RunSend(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o      ProfileOptions
		wait   time.Duration
		asJSON bool
		to     torOptions
	)
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	AddProfileFlags(fs, &o)
	addTorFlags(fs, &to)
	fs.DurationVar(&wait, "wait", DefaultSendWait, "how long to try to deliver; 0: only queue")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object per event")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: securechat send CONTACT TEXT [--wait DURATION] [--tor] [--tor-only] [--tor-path PROGRAM] [--json] [--profile DIR] [--passphrase-file FILE]")
		fmt.Fprintln(stderr, "exit status: 0 delivered, 3 queued but not delivered within --wait (it is sent later), 1 error (not queued), 2 usage")
		fs.PrintDefaults()
	}
	pos, code, done := parseCommand(fs, args)
	if done {
		return code
	}
	if len(pos) != 2 || wait < 0 {
		fs.Usage()
		return SendUsage
	}
	o.Stdin, o.Stderr = stdin, stderr
	v, err := OpenProfile(o)
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return SendError
	}
	defer v.Close()
	c, err := contactByNameOrID(v, pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return SendError
	}
	out := newPrinter(stdout, asJSON)
	cfg := session.Config{Identity: v.Identity(), Name: v.Name(), Store: v, OnlyContacts: true}
	if to = to.resolve(v); to.on && wait > 0 {
		m, err := startTor(v, to, out)
		if err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return SendError
		}
		defer m.Close()
		withTor(&cfg, m, to)
	}
	s, err := session.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return SendError
	}
	defer s.Close()
	return sendAndWait(s, c, pos[1], wait, out, stderr)
}

// sendAndWait queues text for c and dials c until it is delivered or the
// wait is over.
func sendAndWait(s *session.Session, c profile.Contact, text string, wait time.Duration, out *printer, stderr io.Writer) int {
	id, err := s.Send(c.ID, text)
	if err != nil {
		fmt.Fprintln(stderr, "securechat: not queued:", err)
		return SendError
	}
	// The wait starts once the message is durable; the history has a
	// generous while to confirm it.
	deadline := time.NewTimer(queueTimeout)
	defer deadline.Stop()
	queued := false
	dial := func() {
		if len(c.Addrs) > 0 {
			_ = s.ReconnectNow(c.ID)
		}
	}
	var retry <-chan time.Time
	for {
		select {
		case e, ok := <-s.Events():
			if !ok {
				return SendError
			}
			switch e := e.(type) {
			case session.Queued:
				if e.Message.ID != id {
					continue
				}
				queued = true
				out.event(jsonEvent{Event: "queued", ID: id, Contact: c.ID}, "queued for "+escape(c.Name))
				if wait == 0 {
					return SendQueued
				}
				deadline.Reset(wait)
				dial()
			case session.Failed:
				if e.ID == id {
					fmt.Fprintln(stderr, "securechat: not queued:", errText(e.Err))
					return SendError
				}
			case session.Request:
				admitDialed(s, e.Partner, stderr)
			case session.Delivered:
				if e.ID == id {
					out.event(jsonEvent{Event: "delivered", ID: id, Contact: c.ID}, "delivered to "+escape(c.Name))
					return SendDelivered
				}
			case session.Ended:
				if e.Contact == c.ID || !e.Connected {
					// Try again shortly while the wait lasts.
					retry = time.After(time.Second)
				}
			}
		case <-retry:
			retry = nil
			dial()
		case <-deadline.C:
			if !queued {
				fmt.Fprintln(stderr, "securechat: the history did not confirm the message in time")
				return SendError
			}
			out.event(jsonEvent{Event: "not_delivered", ID: id, Contact: c.ID},
				"not delivered yet: "+escape(c.Name)+" could not be reached; the message stays queued and goes out on the next connection")
			return SendQueued
		}
	}
}

// admitDialed decides a partner that send or send-file dialed: a
// contact's key is let in, any other refused.
func admitDialed(s interface {
	Accept(contact string) error
	Decline(contact string) error
}, p session.Partner, stderr io.Writer) {
	switch p.Trust {
	case session.TrustKnown, session.TrustVerified, session.TrustInvited:
		_ = s.Accept(p.Fingerprint)
	default:
		_ = s.Decline(p.Fingerprint)
		fmt.Fprintln(stderr, "securechat: another key answered at the contact's address; refused")
	}
}

// contactByNameOrID finds a contact by the name the user gave it or by its
// key fingerprint.
func contactByNameOrID(v *history.Vault, name string) (profile.Contact, error) {
	if c, ok := v.Contact(name); ok {
		return c, nil
	}
	return contactNamed(v, name)
}

type jsonOutboxMessage struct {
	Contact string `json:"contact"`
	Name    string `json:"name,omitempty"`
	ID      string `json:"id"`
	Time    string `json:"time"`
	Text    string `json:"text"`
}

// RunOutbox runs `securechat outbox [--json]`: the messages waiting to be
// delivered, oldest first.
func RunOutbox(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o      ProfileOptions
		asJSON bool
	)
	fs := flag.NewFlagSet("outbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	AddProfileFlags(fs, &o)
	fs.BoolVar(&asJSON, "json", false, "print one JSON object per message")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: securechat outbox [--json] [--profile DIR] [--passphrase-file FILE]")
		fs.PrintDefaults()
	}
	pos, code, done := parseCommand(fs, args)
	if done {
		return code
	}
	if len(pos) != 0 {
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
	msgs := v.Outbox("")
	enc := json.NewEncoder(stdout)
	for _, m := range msgs {
		name := m.Contact[:min(16, len(m.Contact))]
		if c, ok := v.Contact(m.Contact); ok {
			name = c.Name
		}
		if asJSON {
			if err := enc.Encode(jsonOutboxMessage{Contact: m.Contact, Name: name, ID: m.ID, Time: m.Time.UTC().Format(time.RFC3339Nano), Text: m.Text}); err != nil {
				return 1
			}
			continue
		}
		fmt.Fprintf(stdout, "%s  to %s  %s: %s\n", m.ID, escape(name), localTime(m.Time), escapeLines(m.Text))
	}
	if !asJSON && len(msgs) == 0 {
		fmt.Fprintln(stdout, "The outbox is empty: every message was delivered.")
	}
	return 0
}
