package tor

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzReadReply feeds anything to the reply parser and to every parser
// above it (arguments, bootstrap status, ADD_ONION's reply, the event
// handler): none may panic, and every reply that parses obeys the grammar
// and the bounds.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 OK\r\n",
		"250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/var/lib/tor/control_auth_cookie\"\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n",
		"250 AUTHCHALLENGE SERVERHASH=5E48253862092F8823F46297E42675B33CF9862C5E7AEF2BF3D8558ED7DA0F08 SERVERNONCE=54F723596C4FC2EEDEA34928CE61FDF56CE7511EBFD0CBF835C3A0DA1C88E58F\r\n",
		"250-net/listeners/socks=\"127.0.0.1:9050\" \"[::1]:9050\"\r\n250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=0 TAG=starting SUMMARY=\"Starting\"\r\n250 OK\r\n",
		"250+config-text=\r\nControlPort auto\r\n..dot\r\n.\r\n250 OK\r\n",
		"250-ServiceID=jshbos3bkf4fmiepbfdcp5rqo3nhjjfrpcfpdaf7nhu3rrfixtetvtqd\r\n250 OK\r\n",
		"650 STATUS_CLIENT WARN BOOTSTRAP PROGRESS=14 TAG=handshake SUMMARY=\"Handshaking with a relay\" WARNING=\"DONE\" REASON=DONE COUNT=1 RECOMMENDATION=ignore HOSTID=\"584E7A714D68266083B873372D766597BDF67939\" HOSTADDR=\"117.53.155.113:9001\"\r\n",
		"650 HS_DESC UPLOADED 25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid UNKNOWN $0123456789ABCDEF0123456789ABCDEF01234567~relay HSDIR_INDEX=00\r\n",
		"650+HS_DESC_CONTENT x y z\r\ndescriptor\r\n.\r\n650 OK\r\n",
		"515 Authentication failed: Safe cookie response did not match expected value.\r\n",
		"552 Unrecognized key \"x\"\r\n250 OK\n",
		"250-\"\\377\\n\\\"\r\n250 OK\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := &Tor{onions: map[string]*onion{rfc8032Address[:56]: {}}, changed: make(chan struct{})}
		br := bufio.NewReader(bytes.NewReader(data))
		for range 64 {
			r, err := readReply(br)
			if err != nil {
				return
			}
			if len(r.Lines) == 0 || len(r.Lines) > maxReplyLines {
				t.Fatalf("%d lines", len(r.Lines))
			}
			size := 0
			for i, l := range r.Lines {
				if l.Status != r.Status || l.Status < 100 || l.Status > 999 {
					t.Fatalf("status %d in a %d reply", l.Status, r.Status)
				}
				if (l.Sep == ' ') != (i == len(r.Lines)-1) {
					t.Fatalf("separator %q on line %d of %d", l.Sep, i, len(r.Lines))
				}
				if (l.Data != nil) != (l.Sep == '+') {
					t.Fatalf("data on a %q line", l.Sep)
				}
				if len(l.Text) > maxLineLen || strings.ContainsAny(l.Text, "\n") {
					t.Fatalf("a line of %d bytes", len(l.Text))
				}
				size += len(l.Text) + len(l.Data)
				_, _ = parseArgs(l.Text)
				_, _ = parseBootstrap(l.Text)
				_, _ = parseQuotedList(l.Text)
				_, _ = pickSocks(l.Text)
				_ = sanitize(l.Text)
			}
			if size > maxReplyLen {
				t.Fatalf("a reply of %d bytes", size)
			}
			_, _ = parseAddOnion(r)
			tr.onEvent(r)
		}
	})
}
