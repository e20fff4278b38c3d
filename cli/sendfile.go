package cli

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transfer"
)

// The redial backoff of send-file: a contact that could not be reached,
// or whose connection broke, is dialed again after fileRedialMin, doubled
// per failed try up to fileRedialMax.
var (
	fileRedialMin = 500 * time.Millisecond
	fileRedialMax = 5 * time.Second
)

// optDuration is a duration flag without a default value.
type optDuration struct {
	d   time.Duration
	set bool
}

func (o *optDuration) String() string {
	if o == nil || !o.set {
		return ""
	}
	return o.d.String()
}

func (o *optDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return errors.New("a duration cannot be negative")
	}
	o.d, o.set = d, true
	return nil
}

// RunSendFile runs `securechat send-file CONTACT PATH [--wait DURATION]`:
// the file is copied into the profile and offered to the contact, whom it
// dials (again after a cut) until the contact has received the file and
// verified its SHA-256, the transfer failed, or the wait is over. Exit
// codes as `send`'s: SendDelivered (done), SendQueued (not done within
// the wait; it goes on at the next connection), SendError, SendUsage.
//
// An unfinished transfer of the same file (same size and SHA-256) to the
// same contact, one that an earlier send-file left, is continued rather
// than started again.
func RunSendFile(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o      ProfileOptions
		wait   optDuration
		asJSON bool
		to     torOptions
	)
	fs := flag.NewFlagSet("send-file", flag.ContinueOnError)
	fs.SetOutput(stderr)
	AddProfileFlags(fs, &o)
	addTorFlags(fs, &to)
	fs.Var(&wait, "wait", "stop waiting after `DURATION` (default: until the file is done or fails; 0: only queue it for the next connection)")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object per event")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: securechat send-file CONTACT PATH [--wait DURATION] [--tor] [--tor-only] [--tor-path PROGRAM] [--json] [--profile DIR] [--passphrase-file FILE]")
		fmt.Fprintln(stderr, "exit status: 0 the contact received the file and verified it, 3 not done within --wait (it goes on at the next connection; send-file again continues it), 1 error (declined, cancelled, failed, not sent), 2 usage")
		fs.PrintDefaults()
	}
	pos, code, done := parseCommand(fs, args)
	if done {
		return code
	}
	if len(pos) != 2 {
		fs.Usage()
		return SendUsage
	}
	path := pos[1]
	if err := checkSendable(path); err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return SendError
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
	eng, err := openFiles(v, nil)
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return SendError
	}
	defer closeFiles(eng)
	out := newPrinter(stdout, asJSON)
	cfg := session.Config{Identity: v.Identity(), Name: v.Name(), Store: v, OnlyContacts: true, Files: eng}
	queueOnly := wait.set && wait.d == 0
	if to = to.resolve(v); to.on && !queueOnly {
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
	defer closeSession(s)
	t, resumed, err := sendOrResume(eng, c.ID, path)
	if err != nil {
		fmt.Fprintln(stderr, "securechat: not sent:", err)
		return SendError
	}
	// Ctrl-C stops the waiting, not the transfer: the engine and the
	// session close properly, and the file goes on later.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	defer signal.Stop(interrupt)
	f := &fileSend{s: s, files: eng, c: c, out: out, stderr: stderr, queueOnly: queueOnly, stop: interrupt}
	if wait.set {
		f.wait = wait.d
	}
	return f.run(t, resumed)
}

// checkSendable says in words why path cannot be sent, before the profile
// is opened.
func checkSendable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("there is no file %s", path)
	case err != nil:
		return fmt.Errorf("cannot read %s: %w", path, err)
	case fi.IsDir():
		return fmt.Errorf("%s is a folder; send-file sends one file (pack a folder into an archive first)", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	case fi.Size() == 0:
		return fmt.Errorf("%s is empty; only files of 1 byte to 4 GiB can be sent", path)
	case fi.Size() > 4<<30:
		return fmt.Errorf("%s is larger than 4 GiB, the most a transfer carries", path)
	}
	return nil
}

// closeSession closes s, reading the events it gives meanwhile so that its
// links' goodbyes need not wait for a reader.
func closeSession(s *session.Session) {
	go func() {
		for range s.Events() {
		}
	}()
	_ = s.Close()
}

// sendOrResume continues the unfinished outgoing transfer of the file at
// path to contact, if there is one, and starts one otherwise.
//
// The same file is the same bytes: an unfinished transfer to contact with
// the file's size and SHA-256 (hashing the file only when one of that size
// exists). Name and size alone could continue a transfer of an older
// version of the file, whose copy in the profile is what would arrive. A
// transfer still being prepared has no hash yet; one with the same name and
// size is taken as this file's, since it is being copied from a file of
// that name (the engine fails it if that file changed meanwhile).
func sendOrResume(eng fileEngine, contact, path string) (t transfer.Transfer, resumed bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return transfer.Transfer{}, false, err
	}
	var same []transfer.Transfer
	for _, t := range eng.List(contact) {
		if t.Outgoing && !t.State.Over() && t.Size == fi.Size() {
			same = append(same, t)
		}
	}
	if len(same) > 0 {
		sum, err := fileSHA256(path)
		if err != nil {
			return transfer.Transfer{}, false, err
		}
		best, found := transfer.Transfer{}, false
		for _, t := range same {
			match := t.SHA256 == sum ||
				t.State == transfer.StatePreparing && t.SHA256 == [32]byte{} && t.Name == filepath.Base(path)
			if match && (!found || t.Bytes > best.Bytes) {
				best, found = t, true
			}
		}
		if found {
			return best, true, nil
		}
	}
	t, err = eng.SendFile(contact, path)
	return t, false, err
}

// fileSHA256 hashes the file at path, streaming it.
func fileSHA256(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return [32]byte(h.Sum(nil)), nil
}

// linker is what send-file asks of the session (*session.Session).
type linker interface {
	Events() <-chan session.Event
	ReconnectNow(contact string) error
	Accept(contact string) error
	Decline(contact string) error
}

// fileSend waits for one outgoing transfer to end, dialing its contact.
type fileSend struct {
	s      linker
	files  fileEngine
	c      profile.Contact
	out    *printer
	stderr io.Writer
	// wait bounds the wait; 0: no bound.
	wait time.Duration
	// queueOnly: no dial; the file is prepared, then waits for the next
	// connection.
	queueOnly bool
	// stop ends the wait as its end does (Ctrl-C).
	stop <-chan os.Signal
}

// run reports t until it is done or failed, or the wait is over, and
// returns the exit code.
func (f *fileSend) run(t transfer.Transfer, resumed bool) int {
	rep := newFileReporter(f.out, false)
	who := f.c.Name
	first, reason := "", ""
	if resumed {
		first, reason = "continuing "+fileLabel(t)+" to "+escape(who)+" from where it stopped", "resumed"
		if t.Bytes > 0 {
			first += " (" + sizeWords(t.Bytes) + " of it had arrived)"
		}
	}
	rep.reportWhy(t, who, who, first, reason)
	if code, over := f.ended(t); over {
		return code
	}
	noAddr := len(f.c.Addrs) == 0
	if noAddr && !f.queueOnly {
		f.out.human(escape(who) + " has no address to dial: the file goes out when " + escape(who) + " connects to you (securechat host).")
	}
	var deadline <-chan time.Time
	if f.wait > 0 {
		timer := time.NewTimer(f.wait)
		defer timer.Stop()
		deadline = timer.C
	}
	attempt, expired := 0, false
	dial := func() {
		if !f.queueOnly && !noAddr {
			_ = f.s.ReconnectNow(f.c.ID)
		}
	}
	dial()
	var retry <-chan time.Time
	sessEvents, fileEvents := f.s.Events(), f.files.Events()
	for {
		select {
		case e, ok := <-sessEvents:
			if !ok {
				return SendError
			}
			switch e := e.(type) {
			case session.Request:
				admitDialed(f.s, e.Partner, f.stderr)
			case session.Connected:
				if e.Partner.Fingerprint == f.c.ID {
					attempt = 0
					f.out.event(jsonEvent{Event: "connected", Contact: f.c.ID, Addr: e.Partner.Addr}, "connected to "+escape(who))
				}
			case session.Ended:
				if e.Contact != f.c.ID && e.Connected {
					continue
				}
				d := min(fileRedialMin<<min(attempt, 16), fileRedialMax)
				attempt++
				if !noAddr && !f.queueOnly && retry == nil {
					words := endWords(e, who)
					f.out.event(jsonEvent{Event: "disconnected", Reason: e.Reason.String(), PeerReason: e.Peer, Contact: e.Contact, Addr: e.Addr, Error: errText(e.Err)},
						words+" Trying again in "+durationWords(d)+".")
					retry = time.After(d)
				}
			}
		case e, ok := <-fileEvents:
			if !ok {
				return SendError
			}
			if e.Transfer.ID != t.ID || e.Transfer.Contact != t.Contact {
				continue
			}
			t = e.Transfer
			rep.report(t, who, who, "")
			if code, over := f.ended(t); over {
				return code
			}
			if (f.queueOnly || noAddr || expired) && t.State != transfer.StatePreparing {
				return f.notYet(t)
			}
		case <-retry:
			retry = nil
			dial()
		case <-deadline:
			// A file being prepared is not kept by the engine yet: the
			// wait ends once it is.
			if t.State == transfer.StatePreparing {
				expired = true
				continue
			}
			return f.notYet(t)
		case <-f.stop:
			if t.State == transfer.StatePreparing {
				fmt.Fprintln(f.stderr, "securechat: stopped while "+fileLabel(t)+" was being prepared: nothing was offered (send-file again starts over)")
				return SendError
			}
			return f.notYet(t)
		}
	}
}

// ended reports whether t is over, and the exit code if so.
func (f *fileSend) ended(t transfer.Transfer) (code int, over bool) {
	switch t.State {
	case transfer.StateDone:
		return SendDelivered, true
	case transfer.StateFailed:
		fmt.Fprintln(f.stderr, "securechat: not sent:", fileEndWords(t, escape(f.c.Name)))
		return SendError, true
	}
	return 0, false
}

// notYet says that the transfer goes on later and returns SendQueued.
func (f *fileSend) notYet(t transfer.Transfer) int {
	who := escape(f.c.Name)
	text := "not done yet: " + sizeWords(t.Bytes) + " of " + fileLabel(t) + " arrived; the rest goes to " + who +
		" at the next connection (securechat send-file again continues it)"
	switch {
	case f.queueOnly || len(f.c.Addrs) == 0:
		text = "queued: " + fileLabel(t) + " is offered to " + who + " at the next connection (securechat send-file again waits for it)"
	case t.State == transfer.StateWaiting:
		text = "not done yet: " + who + " has not accepted " + fileLabel(t) + "; it stays offered, also at the next connection (securechat send-file again waits for it)"
	}
	f.out.event(jsonEvent{Event: "not_done", ID: t.ID, Contact: t.Contact, Text: text, File: fileJSON(t, f.c.Name)}, text)
	return SendQueued
}
