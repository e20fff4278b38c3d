package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/securechat/securechat/history"
)

const historyUsage = `usage: securechat history list [--json] [--profile DIR] [--passphrase-file FILE]
       securechat history show ID [--json] ...
       securechat history search TEXT [--json] ...

list    conversations, newest first: id, partner, start time, message count
show    one conversation (ID may be the first digits of its id)
search  messages containing TEXT, ignoring case, in every conversation
`

// RunHistory runs `securechat history ...` (args without "history") and
// returns the exit code.
func RunHistory(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || !slices.Contains([]string{"list", "show", "search"}, args[0]) {
		fmt.Fprint(stderr, historyUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return 0
		}
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("securechat history "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts ProfileOptions
	AddProfileFlags(fs, &opts)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case cmd == "list" && len(pos) != 0, cmd == "show" && len(pos) != 1, cmd == "search" && len(pos) == 0:
		fmt.Fprint(stderr, historyUsage)
		return 2
	}
	opts.Stderr = stderr
	v, err := OpenProfile(opts)
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return 1
	}
	defer v.Close()

	out := historyPrinter{w: stdout, json: *asJSON, me: v.Name()}
	switch cmd {
	case "list":
		var sums []history.Summary
		if sums, err = v.Conversations(); err == nil {
			err = out.list(sums)
		}
	case "show":
		var tr *history.Transcript
		if tr, err = v.Load(pos[0]); err == nil {
			err = out.show(tr)
		}
	case "search":
		var hits []history.Hit
		if hits, err = v.Search(strings.Join(pos, " ")); err == nil {
			err = out.search(hits)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "securechat:", err)
		return 1
	}
	return 0
}

// parseInterleaved parses flags that may come before, between and after the
// positional arguments, which it returns. Everything after "--" is
// positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseCommand parses a command's flags and returns its positional
// arguments; done reports that the command ends here with exit code (0
// after -h, 2 for a usage error, which the flag package has printed).
func parseCommand(fs *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	pos, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil, 0, true
	case err != nil:
		return nil, 2, true
	}
	return pos, 0, false
}

// JSON shapes of `securechat history ... --json`.
type (
	jsonConversation struct {
		ID          string     `json:"id"`
		Partner     string     `json:"partner"`
		Fingerprint string     `json:"fingerprint"`
		Role        string     `json:"role"`
		Addr        string     `json:"addr"`
		Start       time.Time  `json:"start"`
		End         *time.Time `json:"end,omitempty"`
		EndReason   string     `json:"end_reason,omitempty"`
		Messages    int        `json:"messages"`
	}
	jsonMessage struct {
		ID       string    `json:"id"`
		Outgoing bool      `json:"outgoing"`
		Time     time.Time `json:"time"`
		Text     string    `json:"text"`
		Status   string    `json:"status"`
		Reason   string    `json:"reason,omitempty"`
	}
	jsonTranscript struct {
		jsonConversation
		Transcript []jsonMessage `json:"transcript"`
	}
	jsonHit struct {
		Conversation string      `json:"conversation"`
		Partner      string      `json:"partner"`
		Message      jsonMessage `json:"message"`
	}
)

func toJSONConversation(s history.Summary) jsonConversation {
	c := jsonConversation{ID: s.ID, Partner: s.Partner, Fingerprint: s.Fingerprint, Role: s.Role, Addr: s.Addr,
		Start: s.Start, EndReason: s.EndReason, Messages: s.Messages}
	if !s.End.IsZero() {
		c.End = &s.End
	}
	return c
}

func toJSONMessage(m history.StoredMessage) jsonMessage {
	return jsonMessage{ID: m.ID, Outgoing: m.Outgoing, Time: m.Time, Text: m.Text, Status: m.Status, Reason: m.Reason}
}

// historyPrinter prints history as text for people or JSON for scripts:
// one object per line for list and search, one object for show.
type historyPrinter struct {
	w    io.Writer
	json bool
	me   string
}

func (p historyPrinter) emit(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = p.w.Write(append(b, '\n'))
	return err
}

const timeLayout = "2006-01-02 15:04:05"

func (p historyPrinter) list(sums []history.Summary) error {
	if p.json {
		for _, s := range sums {
			if err := p.emit(toJSONConversation(s)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(sums) == 0 {
		_, err := fmt.Fprintln(p.w, "No conversations yet.")
		return err
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPARTNER\tROLE\tSTARTED\tMESSAGES")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", s.ID[:12], escape(s.Partner), s.Role, localTime(s.Start), s.Messages)
	}
	return tw.Flush()
}

func (p historyPrinter) show(tr *history.Transcript) error {
	if p.json {
		out := jsonTranscript{jsonConversation: toJSONConversation(tr.Summary), Transcript: []jsonMessage{}}
		for _, m := range tr.Messages {
			out.Transcript = append(out.Transcript, toJSONMessage(m))
		}
		return p.emit(out)
	}
	partner := escape(tr.Partner)
	fmt.Fprintf(p.w, "Conversation %s with %s (%s, %s)\n", tr.ID, partner, escape(tr.Role), escape(tr.Addr))
	fmt.Fprintf(p.w, "Partner key: %s\n", tr.Fingerprint)
	fmt.Fprintf(p.w, "Started %s", localTime(tr.Start))
	if !tr.End.IsZero() {
		fmt.Fprintf(p.w, ", ended %s (%s)", localTime(tr.End), escape(storedReasonWords(tr.EndReason)))
	}
	fmt.Fprintf(p.w, "\n\n")
	for _, m := range tr.Messages {
		if err := p.message(partner, m); err != nil {
			return err
		}
	}
	return nil
}

func (p historyPrinter) message(partner string, m history.StoredMessage) error {
	who := partner
	status := ""
	if m.Outgoing {
		who = escape(p.me)
		switch m.Status {
		case history.StatusFailed:
			status = "  (failed: " + escape(storedReasonWords(m.Reason)) + ")"
		default:
			status = "  (" + escape(m.Status) + ")"
		}
	}
	_, err := fmt.Fprintf(p.w, "[%s] %s: %s%s\n", localTime(m.Time), who, escapeLines(m.Text), status)
	return err
}

func (p historyPrinter) search(hits []history.Hit) error {
	if p.json {
		for _, h := range hits {
			if err := p.emit(jsonHit{Conversation: h.Conversation.ID, Partner: h.Conversation.Partner, Message: toJSONMessage(h.Message)}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(hits) == 0 {
		_, err := fmt.Fprintln(p.w, "No messages found.")
		return err
	}
	for _, h := range hits {
		fmt.Fprintf(p.w, "%s ", h.Conversation.ID[:12])
		if err := p.message(escape(h.Conversation.Partner), h.Message); err != nil {
			return err
		}
	}
	return nil
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(timeLayout)
}
