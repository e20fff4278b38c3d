package cli

import (
	"bytes"
	"encoding/json"
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
	events := []session.Event{
		{Kind: session.EventMessage, Message: &session.Message{ID: "i1", From: "bob\u202Exe.", Time: at,
			Text: "hi\n[13:23] alice: this line is forged\r[13:24] alice: so is this\x1b[2J\u200B"}},
		{Kind: session.EventDisconnected, Reason: "The partner refused: bye\n[13:25] alice: forged too"},
	}
	var text bytes.Buffer
	c := &chat{out: newPrinter(&text, false), host: true, unacked: map[string]string{}}
	for _, e := range events {
		c.handle(e)
	}
	assert.Equal(t, "[13:22] bob\\u202Exe.: hi\n"+
		"    [13:23] alice: this line is forged\\r[13:24] alice: so is this\\x1b[2J\\u200B\n"+
		"The partner refused: bye\\n[13:25] alice: forged too\n"+
		"Waiting for the next partner ...\n", text.String())

	var raw bytes.Buffer
	c = &chat{out: newPrinter(&raw, true), host: true, unacked: map[string]string{}}
	c.handle(events[0])
	var j jsonEvent
	require.NoError(t, json.Unmarshal(raw.Bytes(), &j))
	assert.Equal(t, events[0].Message.Text, j.Text)
	assert.Equal(t, events[0].Message.From, j.From)
}
