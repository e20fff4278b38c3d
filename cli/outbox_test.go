package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCmd(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, "test", strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestSend_QueuesForAnOfflineContactAndDeliversWhenItIsOnline(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	addr := meet(t, bobDir, aliceDir, pf)
	alice := []string{"--profile", aliceDir, "--passphrase-file", pf}

	// Bob is offline: queued, not delivered (exit 3), and listed.
	code, out, errOut := runCmd(append([]string{"send", "bob", "while you were away", "--wait", "300ms", "--json"}, alice...)...)
	require.Equal(t, SendQueued, code, errOut)
	assert.Contains(t, out, `"event":"queued"`)
	assert.Contains(t, out, `"event":"not_delivered"`)
	code, _, errOut = runCmd(append([]string{"send", "bob", "and this", "--wait", "0"}, alice...)...)
	require.Equal(t, SendQueued, code, errOut)
	code, out, errOut = runCmd(append([]string{"outbox", "--json"}, alice...)...)
	require.Equal(t, 0, code, errOut)
	var texts []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m jsonOutboxMessage
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		assert.Equal(t, "bob", m.Name)
		texts = append(texts, m.Text)
	}
	assert.Equal(t, []string{"while you were away", "and this"}, texts, "oldest first")

	// Bob comes online: the next send delivers all three, in order.
	host := startTerminal(t, "host", "--listen", addr, "--profile", bobDir, "--passphrase-file", pf, "--json")
	host.waitFor("listening", nil)
	code, out, errOut = runCmd(append([]string{"send", "bob", "hello again", "--wait", "1m"}, alice...)...)
	require.Equal(t, SendDelivered, code, errOut)
	assert.Contains(t, out, "delivered to bob")
	host.waitFor("message", map[string]any{"text": "hello again"})
	var got []string
	host.mu.Lock()
	for _, e := range host.events {
		if e["event"] == "message" && e["outgoing"] == nil {
			got = append(got, e["text"].(string))
		}
	}
	host.mu.Unlock()
	assert.Equal(t, []string{"while you were away", "and this", "hello again"}, got, "each once, in order")
	code, out, errOut = runCmd(append([]string{"outbox"}, alice...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "The outbox is empty")
	require.NoError(t, host.stdin.Close())
	assert.Equal(t, 0, host.exitCode())
}

func TestSend_ErrorsAndUsage(t *testing.T) {
	aliceDir := newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	alice := []string{"--profile", aliceDir, "--passphrase-file", pf}
	code, _, errOut := runCmd(append([]string{"send", "nobody", "hi"}, alice...)...)
	assert.Equal(t, SendError, code)
	assert.Contains(t, errOut, "no contact is called")
	code, _, _ = runCmd(append([]string{"send", "only-a-contact"}, alice...)...)
	assert.Equal(t, SendUsage, code)
	code, _, _ = runCmd(append([]string{"send", "bob", "hi", "--wait", "-1s"}, alice...)...)
	assert.Equal(t, SendUsage, code)
	code, _, _ = runCmd(append([]string{"outbox", "extra"}, alice...)...)
	assert.Equal(t, 2, code)
}
