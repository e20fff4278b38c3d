package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/session"
)

func TestEscape_ShowsControlAndFormatCharacters(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain text", "Hello, Ünïcödé 👋", "Hello, Ünïcödé 👋"},
		{"a tab stays", "a\tb", "a\tb"},
		{"newline", "hi\n[13:23] alice: forged", `hi\n[13:23] alice: forged`},
		{"carriage return", "hi\r[13:23] alice: forged", `hi\r[13:23] alice: forged`},
		{"clear screen", "\x1b[2J", `\x1b[2J`},
		{"window title and bell", "\x1b]0;owned\x07", `\x1b]0;owned\x07`},
		{"delete", "a\x7fb", `a\x7fb`},
		{"C1 control sequence introducer", "\u009b2J", `\u009B2J`},
		{"right-to-left override", "alice\u202Etxt.exe", `alice\u202Etxt.exe`},
		{"zero width space", "bo\u200Bb", `bo\u200Bb`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"format character beyond the BMP", "a\U000E0001b", `a\U000E0001b`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, escape(tc.in))
		})
	}
}

func TestEscapeLines_IndentsContinuationLines(t *testing.T) {
	assert.Equal(t, "hi\n    [13:23] alice: this line is forged", escapeLines("hi\n[13:23] alice: this line is forged"))
	assert.Equal(t, `one\r`+"\n    "+`\u202Etwo`, escapeLines("one\r\n\u202Etwo"))
}

// A received message, its sender's name and a disconnect reason cannot
// forge a line of the terminal or drive it; --json keeps them raw.
func TestChat_PartnerTextCannotSpoofTheTerminal(t *testing.T) {
	at := time.Date(2026, 11, 27, 13, 22, 0, 0, time.Local)
	bob := strings.Repeat("b0", 32)
	events := []session.Event{
		session.MessageEvent{Contact: bob, Message: session.Message{ID: "i1", From: "bob\u202Exe.", Time: at,
			Text: "hi\n[13:23] alice: this line is forged\r[13:24] alice: so is this\x1b[2J\u200B"}},
		session.Ended{Contact: bob, Connected: true, Reason: session.EndPartnerLeft, Peer: "bye\n[13:25] alice: forged too"},
		session.Ended{Reason: session.EndNotSecureChat, Peer: "bye\n[13:25] alice: forged too"},
	}
	var text bytes.Buffer
	c := &chat{out: newPrinter(&text, false), host: true, unacked: map[string]string{}, labels: map[string]string{bob: "bob\u202Exe."}}
	for _, e := range events {
		c.handle(e)
	}
	assert.Equal(t, "[13:22] bob\\u202Exe.: hi\n"+
		"    [13:23] alice: this line is forged\\r[13:24] alice: so is this\\x1b[2J\\u200B\n"+
		"bob\\u202Exe. has disconnected.\n"+
		"Waiting for the next partner ...\n"+
		"That address does not speak SecureChat (bye\\n[13:25] alice: forged too).\n", text.String())

	var raw bytes.Buffer
	c = &chat{out: newPrinter(&raw, true), host: true, unacked: map[string]string{}}
	c.handle(events[0])
	var j jsonEvent
	require.NoError(t, json.Unmarshal(raw.Bytes(), &j))
	m := events[0].(session.MessageEvent).Message
	assert.Equal(t, m.Text, j.Text)
	assert.Equal(t, m.From, j.From)
}

func TestWords_StoredReasonsReadAsWords(t *testing.T) {
	assert.Equal(t, "the partner has disconnected", storedReasonWords(session.EndPartnerLeft.String()))
	assert.Equal(t, "not sent: the chat ended", storedReasonWords("not_sent"))
	assert.Equal(t, "Partner has disconnected", storedReasonWords("Partner has disconnected"), "an older history's words stay")
	for r := session.EndWeLeft; r <= session.EndNetwork; r++ {
		assert.NotEmpty(t, reasonPhrases[r], "%s has words", r)
		assert.Equal(t, reasonPhrases[r], storedReasonWords(r.String()))
		assert.NotContains(t, endWords(session.Ended{Reason: r, Addr: "127.0.0.1:32999"}, "Bob"), "_", "%s has a sentence", r)
	}
}
