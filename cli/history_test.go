package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/history"
)

// historyProfile makes a profile with one conversation and returns its
// folder and the conversation id.
func historyProfile(t *testing.T) (string, string) {
	dir := newProfile(t, "Alice", "pw secret")
	v, err := history.Open(dir, []byte("pw secret"))
	require.NoError(t, err)
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	w, err := v.BeginConversation(history.ConversationMeta{Partner: "Bob\x1b[2J", Fingerprint: "ab12", Role: "host", Addr: "192.0.2.1:50000", Start: start})
	require.NoError(t, err)
	for i, m := range []history.MessageRecord{
		{ID: "m1", Outgoing: false, Time: start.Add(time.Second), Text: "Hello Alice"},
		{ID: "m2", Outgoing: true, Time: start.Add(2 * time.Second), Text: "hello bob\nsecond line"},
		{ID: "m3", Outgoing: true, Time: start.Add(3 * time.Second), Text: "lost \x1b]0;owned\x07"},
		{ID: "i2", Outgoing: false, Time: start.Add(4 * time.Second), Text: "ok\n[10:00:05] Alice: forged\r\u202Eevil\u200B"},
	} {
		done := make(chan error, 1)
		w.AppendMessage(m, func(err error) { done <- err })
		require.NoError(t, <-done, i)
	}
	require.NoError(t, w.AppendStatus("m2", true, ""))
	require.NoError(t, w.AppendStatus("m3", false, "partner left"))
	require.NoError(t, w.End("bye", start.Add(time.Minute)))
	require.NoError(t, v.Close())
	return dir, w.ID()
}

func runHistory(t *testing.T, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := RunHistory(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRunHistory_ListShowAndSearchAsTextAndJSON(t *testing.T) {
	dir, id := historyProfile(t)
	t.Setenv(EnvPassphrase, "pw secret")

	t.Run("list", func(t *testing.T) {
		code, out, errOut := runHistory(t, "list", "--profile", dir)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, id[:12])
		assert.Contains(t, out, `Bob\x1b[2J`)
		assert.Regexp(t, `host\s+2026-11-27 \d\d:00:00\s+4\n`, out)
		assert.NotContains(t, out, "\x1b")
	})
	t.Run("list --json", func(t *testing.T) {
		code, out, errOut := runHistory(t, "list", "--json", "--profile", dir)
		require.Equal(t, 0, code, errOut)
		var c jsonConversation
		require.NoError(t, json.Unmarshal([]byte(out), &c))
		assert.Equal(t, id, c.ID)
		assert.Equal(t, "Bob\x1b[2J", c.Partner)
		assert.Equal(t, 4, c.Messages)
		assert.Equal(t, "bye", c.EndReason)
	})
	t.Run("show by prefix", func(t *testing.T) {
		code, out, errOut := runHistory(t, "show", id[:8], "--profile", dir)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "Conversation "+id)
		assert.Contains(t, out, `Bob\x1b[2J: Hello Alice`+"\n")
		assert.Contains(t, out, "Alice: hello bob\n    second line  (delivered)\n")
		assert.Contains(t, out, `Alice: lost \x1b]0;owned\x07  (failed: partner left)`+"\n")
		assert.Contains(t, out, `Bob\x1b[2J: ok`+"\n    "+`[10:00:05] Alice: forged\r\u202Eevil\u200B`+"\n")
		assert.NotContains(t, out, "\r")
		assert.NotContains(t, out, "\u202E")
		assert.NotContains(t, out, "\u200B")
		assert.NotContains(t, out, "\x1b")
		assert.NotContains(t, out, "\x07")
	})
	t.Run("show --json", func(t *testing.T) {
		code, _, errOut := runHistory(t, "--profile="+dir, "show", "--json", id)
		require.Equal(t, 2, code, "flags come after the subcommand: %s", errOut)
		code, out, errOut := runHistory(t, "show", "--profile="+dir, "--json", id)
		require.Equal(t, 0, code, errOut)
		var tr jsonTranscript
		require.NoError(t, json.Unmarshal([]byte(out), &tr))
		require.Len(t, tr.Transcript, 4)
		assert.Equal(t, jsonMessage{ID: "m3", Outgoing: true, Time: tr.Transcript[2].Time, Text: "lost \x1b]0;owned\x07", Status: "failed", Reason: "partner left"}, tr.Transcript[2])
		assert.Equal(t, "delivered", tr.Transcript[0].Status, "a received message counts as delivered")
		assert.Equal(t, "ok\n[10:00:05] Alice: forged\r\u202Eevil\u200B", tr.Transcript[3].Text, "JSON keeps the text as it is")
	})
	t.Run("search --json", func(t *testing.T) {
		code, out, errOut := runHistory(t, "search", "HELLO", "--json", "--profile", dir)
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 2)
		var h jsonHit
		require.NoError(t, json.Unmarshal([]byte(lines[1]), &h))
		assert.Equal(t, id, h.Conversation)
		assert.Equal(t, "m2", h.Message.ID)
	})
	t.Run("search shows a hit escaped", func(t *testing.T) {
		code, out, errOut := runHistory(t, "search", "forged", "--profile", dir)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, id[:12]+" ")
		assert.Contains(t, out, `Bob\x1b[2J: ok`+"\n    "+`[10:00:05] Alice: forged\r\u202Eevil\u200B`+"\n")
		assert.NotContains(t, out, "\x1b")
		assert.NotContains(t, out, "\u202E")
	})
	t.Run("search of several words and after --", func(t *testing.T) {
		code, out, _ := runHistory(t, "search", "--profile", dir, "hello", "alice")
		require.Equal(t, 0, code)
		assert.Contains(t, out, "Hello Alice")
		code, out, _ = runHistory(t, "search", "--profile", dir, "--", "--json")
		require.Equal(t, 0, code)
		assert.Contains(t, out, "No messages found.")
	})
	t.Run("unknown id", func(t *testing.T) {
		code, _, errOut := runHistory(t, "show", "ffffffff", "--profile", dir)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "no such conversation")
	})
}

func TestRunHistory_BadUsageAndMissingProfile(t *testing.T) {
	t.Setenv(EnvPassphrase, "pw secret")
	missing := filepath.Join(t.TempDir(), "none")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "usage"},
		{[]string{"bogus"}, 2, "usage"},
		{[]string{"list", "extra", "--profile", missing}, 2, "usage"},
		{[]string{"show", "--profile", missing}, 2, "usage"},
		{[]string{"search", "--profile", missing}, 2, "usage"},
		{[]string{"list", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"list", "--profile", missing}, 1, "no profile"},
		{[]string{"help"}, 0, "usage"},
	} {
		t.Run(fmt.Sprint(tc.args), func(t *testing.T) {
			code, _, errOut := runHistory(t, tc.args...)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, errOut, tc.msg)
		})
	}
}
