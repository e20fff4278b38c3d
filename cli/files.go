package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/transfer"
)

// fileEngine is what the terminal asks of a profile's transfer engine
// (*transfer.Engine); tests use a fake.
type fileEngine interface {
	SendFile(contact, path string) (transfer.Transfer, error)
	List(contact string) []transfer.Transfer
	Get(contact, id string) (transfer.Transfer, bool)
	SaveAs(contact, id, path string) error
	Events() <-chan transfer.Event
}

var _ fileEngine = (*transfer.Engine)(nil)

// openFiles opens the profile's transfer engine; autoAccept decides
// incoming offers (nil: they wait for the user).
func openFiles(v *history.Vault, autoAccept func(transfer.Transfer) bool) (*transfer.Engine, error) {
	e, err := transfer.OpenProfile(v, autoAccept)
	if err != nil {
		return nil, fmt.Errorf("cannot open the profile's files: %w", err)
	}
	return e, nil
}

// closeFiles closes the engine, reading what is left of its events so
// that nothing in it waits for a reader.
func closeFiles(e *transfer.Engine) {
	go func() {
		for range e.Events() {
		}
	}()
	_ = e.Close()
}

// sizeWords says a number of bytes the way file managers do, in decimal
// units: "512 B", "12.3 MB", "200 MB", "1.5 GB".
func sizeWords(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n), ""
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		if v < 999.95 && unit != "" {
			break
		}
		v, unit = v/1000, u
	}
	return decimal(v) + " " + unit
}

// decimal prints v with one decimal below 100 ("12.3", "4"), none above.
func decimal(v float64) string {
	if v >= 99.95 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// rateWords says a speed in bytes per second: "4.1 MB/s".
func rateWords(bps float64) string {
	return sizeWords(int64(bps)) + "/s"
}

// durationWords says a time left: "45 s", "3 min 5 s", "12 min", "1 h 5 min".
func durationWords(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", max(s, 1))
	case s < 10*60:
		if s%60 == 0 {
			return fmt.Sprintf("%d min", s/60)
		}
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	case s < 3600:
		return fmt.Sprintf("%d min", (s+30)/60)
	}
	m := (s + 30) / 60
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// progressWords says how far a transfer is: "sent 12.3 MB of 200 MB ·
// 4.1 MB/s · 45 s left".
func progressWords(t transfer.Transfer) string {
	verb := "received"
	if t.Outgoing {
		verb = "sent"
	}
	s := verb + " " + sizeWords(t.Bytes) + " of " + sizeWords(t.Size)
	switch {
	case !t.Connected:
		s += " · waiting for the connection"
	case t.Rate > 0:
		s += " · " + rateWords(t.Rate)
		if left := t.Remaining(); left > 0 {
			s += " · " + durationWords(left) + " left"
		}
	}
	return s
}

// fileLabel is "file.bin (200 MB)", the name escaped.
func fileLabel(t transfer.Transfer) string {
	return escape(t.Name) + " (" + sizeWords(t.Size) + ")"
}

// stateWords says what a transfer's new state means; who is the partner's
// name. It is "" for an incoming offer: the caller knows whether it is
// accepted by itself.
func stateWords(t transfer.Transfer, who string) string {
	who = escape(who)
	switch t.State {
	case transfer.StatePreparing:
		return "preparing " + fileLabel(t) + ": copying it into the profile and hashing it ..."
	case transfer.StateWaiting:
		if !t.Outgoing {
			return ""
		}
		if !t.Connected {
			return fileLabel(t) + " is offered to " + who + " at the next connection"
		}
		return "offered " + fileLabel(t) + " to " + who + "; waiting for " + who + " to accept ..."
	case transfer.StateTransferring:
		if t.Outgoing {
			return "sending " + fileLabel(t) + " to " + who + " ..."
		}
		return "receiving " + fileLabel(t) + " from " + who + " ..."
	case transfer.StateVerifying:
		return "all of " + escape(t.Name) + " is here; checking its SHA-256 ..."
	case transfer.StateDone:
		if t.Outgoing {
			return who + " received " + fileLabel(t) + " and verified its SHA-256"
		}
		return "received " + fileLabel(t) + " from " + who + "; its SHA-256 matches"
	case transfer.StateFailed:
		return fileEndWords(t, who)
	}
	return t.State.String()
}

// jsonFile is a transfer in the JSON of events and of `files list`.
type jsonFile struct {
	ID          string  `json:"id"`
	Contact     string  `json:"contact"`
	ContactName string  `json:"contact_name,omitempty"`
	Outgoing    bool    `json:"outgoing"`
	State       string  `json:"state"`
	Name        string  `json:"name"`
	MediaType   string  `json:"media_type,omitempty"`
	Size        int64   `json:"size"`
	Bytes       int64   `json:"bytes"`
	Rate        float64 `json:"rate,omitempty"`        // bytes per second
	Remaining   float64 `json:"remaining_s,omitempty"` // seconds left at Rate
	SHA256      string  `json:"sha256,omitempty"`
	Time        string  `json:"time"`
	Connected   bool    `json:"connected"`
	Error       string  `json:"error,omitempty"`
}

func fileJSON(t transfer.Transfer, contactName string) *jsonFile {
	j := &jsonFile{ID: t.ID, Contact: t.Contact, ContactName: contactName, Outgoing: t.Outgoing, State: t.State.String(),
		Name: t.Name, MediaType: t.MediaType, Size: t.Size, Bytes: t.Bytes, Rate: math.Round(t.Rate),
		Remaining: math.Round(t.Remaining().Seconds()), Time: t.Time.UTC().Format(time.RFC3339Nano),
		Connected: t.Connected, Error: errText(t.Err)}
	if t.SHA256 != ([32]byte{}) {
		j.SHA256 = hex.EncodeToString(t.SHA256[:])
	}
	return j
}

// Intervals between two progress reports of one transfer.
var (
	progressEvery     = 500 * time.Millisecond // a human line
	progressEveryJSON = 200 * time.Millisecond // a JSON event
)

// fileReporter prints the news of transfers: every state change, and
// progress at most every progressEvery. Each event is a JSON object
// {"event":"file", "file":{...}}; text mode prints a line.
type fileReporter struct {
	out *printer
	now func() time.Time
	// named prefixes progress lines with the file's name and partner,
	// for a terminal that may carry several transfers.
	named bool

	mu   sync.Mutex
	last map[string]reported // by contact and id
}

type reported struct {
	state transfer.State
	at    time.Time
	bytes int64
	conn  bool
}

func newFileReporter(out *printer, named bool) *fileReporter {
	return &fileReporter{out: out, now: time.Now, named: named, last: map[string]reported{}}
}

// report prints t if it is news; text, when not "", replaces the state
// line. It returns whether t is a state change.
func (r *fileReporter) report(t transfer.Transfer, who, contactName, text string) bool {
	return r.reportWhy(t, who, contactName, text, "")
}

// reportWhy is report with a reason in the JSON event ("resumed").
func (r *fileReporter) reportWhy(t transfer.Transfer, who, contactName, text, reason string) bool {
	now := r.now()
	key := t.Contact + "/" + t.ID
	r.mu.Lock()
	prev, seen := r.last[key]
	changed := !seen || prev.state != t.State
	every := progressEvery
	if r.out.json {
		every = progressEveryJSON
	}
	due := t.State == transfer.StateTransferring &&
		(t.Connected != prev.conn || t.Bytes != prev.bytes && now.Sub(prev.at) >= every)
	if !changed && !due {
		r.mu.Unlock()
		return false
	}
	r.last[key] = reported{state: t.State, at: now, bytes: t.Bytes, conn: t.Connected}
	r.mu.Unlock()
	if changed && text == "" {
		text = stateWords(t, who)
	}
	if !changed {
		text = progressWords(t)
		if r.named {
			dir := "from"
			if t.Outgoing {
				dir = "to"
			}
			text = escape(t.Name) + " " + dir + " " + escape(who) + ": " + text
		}
	}
	r.out.event(jsonEvent{Event: "file", Contact: t.Contact, ID: t.ID, Text: text, Reason: reason, File: fileJSON(t, contactName)}, text)
	return changed
}

const filesUsage = `usage: securechat files list [CONTACT] [--json] [--profile DIR] [--passphrase-file FILE]
       securechat files save [CONTACT] ID PATH [--force] [--profile DIR] [--passphrase-file FILE]

list    the files sent and received (of one contact, or of all), oldest first
save    write a plaintext copy of a received file (or of one you sent) to PATH;
        ID may be the first characters of the id that list shows, and PATH a
        folder to save into under the file's name. An existing file is not
        replaced without --force.
`

// RunFiles runs `securechat files list|save ...` (args without "files").
func RunFiles(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "list" && args[0] != "save" {
		fmt.Fprint(stderr, filesUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return 0
		}
		return 2
	}
	cmd := args[0]
	var (
		o      ProfileOptions
		asJSON bool
		force  bool
	)
	fs := flag.NewFlagSet("securechat files "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	AddProfileFlags(fs, &o)
	if cmd == "list" {
		fs.BoolVar(&asJSON, "json", false, "print one JSON object per file")
	} else {
		fs.BoolVar(&force, "force", false, "replace PATH if it exists")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, filesUsage)
		fs.PrintDefaults()
	}
	pos, code, done := parseCommand(fs, args[1:])
	if done {
		return code
	}
	if cmd == "list" && len(pos) > 1 || cmd == "save" && (len(pos) < 2 || len(pos) > 3) {
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
	contact := ""
	if cmd == "list" && len(pos) == 1 || cmd == "save" && len(pos) == 3 {
		c, err := contactByNameOrID(v, pos[0])
		if err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return 1
		}
		contact, pos = c.ID, pos[1:]
	}
	eng, err := openFiles(v, nil)
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return 1
	}
	defer closeFiles(eng)
	names := func(id string) string {
		if c, ok := v.Contact(id); ok {
			return c.Name
		}
		return id[:min(16, len(id))]
	}
	if cmd == "list" {
		if err := listFiles(eng, contact, names, asJSON, stdout); err != nil {
			fmt.Fprintln(stderr, "securechat:", err)
			return 1
		}
		return 0
	}
	if err := saveFile(eng, contact, pos[0], pos[1], force, names, stdout); err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return 1
	}
	return 0
}

// listFiles prints the transfers of contact ("" for all) as a table or
// JSON lines.
func listFiles(eng fileEngine, contact string, names func(string) string, asJSON bool, w io.Writer) error {
	ts := eng.List(contact)
	if asJSON {
		enc := json.NewEncoder(w)
		for _, t := range ts {
			if err := enc.Encode(fileJSON(t, names(t.Contact))); err != nil {
				return err
			}
		}
		return nil
	}
	if len(ts) == 0 {
		_, err := fmt.Fprintln(w, "No files sent or received yet.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCONTACT\tDIRECTION\tSTATE\tNAME\tSIZE\tTIME")
	for _, t := range ts {
		dir := "received"
		if t.Outgoing {
			dir = "sent"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, escape(names(t.Contact)), dir, listState(t), escape(t.Name), sizeWords(t.Size), localTime(t.Time))
	}
	return tw.Flush()
}

// listState is a transfer's state in the table: "transferring 48%",
// "failed (declined)".
func listState(t transfer.Transfer) string {
	switch t.State {
	case transfer.StateTransferring, transfer.StateVerifying:
		pct := 0
		if t.Size > 0 {
			pct = int(t.Bytes * 100 / t.Size)
		}
		return fmt.Sprintf("%s %d%%", t.State, pct)
	case transfer.StateFailed:
		return "failed (" + failedFileWords(t.Err) + ")"
	}
	return t.State.String()
}

// findFile finds the transfer whose id is, or starts with, id, of contact
// ("" for any contact).
func findFile(eng fileEngine, contact, id string) (transfer.Transfer, error) {
	var found []transfer.Transfer
	for _, t := range eng.List(contact) {
		if t.ID == id {
			return t, nil
		}
		if len(id) >= 3 && strings.HasPrefix(t.ID, id) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return transfer.Transfer{}, fmt.Errorf("no file has the id %q (securechat files list shows them)", id)
	case 1:
		return found[0], nil
	}
	return transfer.Transfer{}, fmt.Errorf("several files have ids that start with %q; give more of it", id)
}

// saveFile writes the plaintext of transfer id to path (into it, when it
// is a folder).
func saveFile(eng fileEngine, contact, id, path string, force bool, names func(string) string, w io.Writer) error {
	t, err := findFile(eng, contact, id)
	if err != nil {
		return err
	}
	switch {
	case !t.Outgoing && t.State == transfer.StateFailed:
		return fmt.Errorf("%s from %s was not received (%s): there is nothing to save", escape(t.Name), escape(names(t.Contact)), failedFileWords(t.Err))
	case !t.Outgoing && t.State != transfer.StateDone:
		return fmt.Errorf("%s from %s is not complete yet (%s of %s received): it can be saved once it is done", escape(t.Name), escape(names(t.Contact)), sizeWords(t.Bytes), sizeWords(t.Size))
	case t.Outgoing && t.State == transfer.StatePreparing:
		return fmt.Errorf("%s is still being copied into the profile: try again in a moment", escape(t.Name))
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, t.Name)
	}
	if _, err := os.Lstat(path); err == nil && !force {
		return fmt.Errorf("%s exists: choose another name, or replace it with --force", path)
	}
	if err := eng.SaveAs(t.Contact, t.ID, path); err != nil {
		if errors.Is(err, transfer.ErrNotReady) {
			return fmt.Errorf("%s is not complete yet: it can be saved once it is done", escape(t.Name))
		}
		return fmt.Errorf("could not save %s: %w", escape(t.Name), err)
	}
	_, err = fmt.Fprintf(w, "Saved %s to %s\n", fileLabel(t), path)
	return err
}
