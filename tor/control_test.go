package tor

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func parseOne(s string) (*reply, error) {
	return readReply(bufio.NewReader(strings.NewReader(s)))
}

func TestReadReply_Grammar(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     *reply
	}{
		{"one line", "250 OK\r\n", &reply{Status: 250, Lines: []replyLine{{Status: 250, Sep: ' ', Text: "OK"}}}},
		{"empty text", "250 \r\n", &reply{Status: 250, Lines: []replyLine{{Status: 250, Sep: ' ', Text: ""}}}},
		{"lone LF tolerated", "250 OK\n", &reply{Status: 250, Lines: []replyLine{{Status: 250, Sep: ' ', Text: "OK"}}}},
		{"mid lines", "250-ServiceID=abc\r\n250-X=y z\r\n250 OK\r\n", &reply{Status: 250, Lines: []replyLine{
			{Status: 250, Sep: '-', Text: "ServiceID=abc"},
			{Status: 250, Sep: '-', Text: "X=y z"},
			{Status: 250, Sep: ' ', Text: "OK"},
		}}},
		{"data, dot-unstuffed", "250+config-text=\r\nControlPort auto\r\n..hidden\r\n\r\n.\r\n250 OK\r\n", &reply{Status: 250, Lines: []replyLine{
			{Status: 250, Sep: '+', Text: "config-text=", Data: []byte("ControlPort auto\n.hidden\n\n")},
			{Status: 250, Sep: ' ', Text: "OK"},
		}}},
		{"empty data", "250+k=\r\n.\r\n250 OK\r\n", &reply{Status: 250, Lines: []replyLine{
			{Status: 250, Sep: '+', Text: "k=", Data: []byte{}},
			{Status: 250, Sep: ' ', Text: "OK"},
		}}},
		{"event", `650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay"` + "\r\n", &reply{Status: 650, Lines: []replyLine{
			{Status: 650, Sep: ' ', Text: `STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay"`},
		}}},
		{"line of exactly 64 KiB", "250 " + strings.Repeat("a", maxLineLen-4) + "\r\n", &reply{Status: 250, Lines: []replyLine{
			{Status: 250, Sep: ' ', Text: strings.Repeat("a", maxLineLen-4)},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseOne(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, r)
			require.Equal(t, tc.want.Status/100 == 6, r.async())
		})
	}
}

func TestReadReply_MalformedRefused(t *testing.T) {
	big := strings.Repeat("x", 60<<10)
	for _, tc := range []struct {
		name, in string
		eof      bool // the error is an unexpected EOF, not errMalformed
	}{
		{"short line", "250\r\n", false},
		{"no status", "OK\r\n", false},
		{"letters in status", "2x0 OK\r\n", false},
		{"status 000", "000 OK\r\n", false},
		{"bad separator", "250*OK\r\n", false},
		{"mixed status codes", "250-a\r\n251 OK\r\n", false},
		{"line over 64 KiB", "250 " + strings.Repeat("a", maxLineLen-3) + "\r\n", false},
		{"line over 64 KiB without end", "250 " + strings.Repeat("a", 3*maxLineLen), false},
		{"data line over 64 KiB", "250+k=\r\n" + strings.Repeat("a", maxLineLen+1) + "\r\n.\r\n250 OK\r\n", false},
		{"reply over 1 MiB", strings.Repeat("250-"+big+"\r\n", 18) + "250 OK\r\n", false},
		{"data over 1 MiB", "250+k=\r\n" + strings.Repeat(big+"\r\n", 18) + ".\r\n250 OK\r\n", false},
		{"too many lines", strings.Repeat("250-a\r\n", maxReplyLines+1) + "250 OK\r\n", false},
		{"end in mid reply", "250-a\r\n", true},
		{"end in data", "250+a=\r\nxyz\r\n", true},
		{"end in a line", "250 O", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseOne(tc.in)
			require.Nil(t, r)
			require.Error(t, err)
			if tc.eof {
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			} else {
				require.ErrorIs(t, err, errMalformed)
			}
		})
	}
	_, err := parseOne("")
	require.ErrorIs(t, err, io.EOF)
}

func TestUnquote(t *testing.T) {
	for _, tc := range []struct{ in, val, rest string }{
		{`"abc" x`, "abc", " x"},
		{`""`, "", ""},
		{`"a\"b\\c"`, `a"b\c`, ""},
		{`"\n\t\r"`, "\n\t\r", ""},
		{`"\0\101\377\400"`, "\x00A\xff\x200", ""},
		{`"C:\Users\x"`, `C:Usersx`, ""},
		{`"\8"`, "8", ""},
	} {
		v, rest, err := unquote(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.val, v, tc.in)
		require.Equal(t, tc.rest, rest, tc.in)
	}
	for _, bad := range []string{`"abc`, `"abc\`, `abc"`, ``} {
		_, _, err := unquote(bad)
		require.ErrorIs(t, err, errMalformed, bad)
	}
}

func TestParseArgs(t *testing.T) {
	a, err := parseArgs(`STATUS_CLIENT WARN BOOTSTRAP PROGRESS=14 TAG=handshake SUMMARY="Handshaking with a relay" WARNING="DONE" COUNT=2 HOSTADDR="91.226.144.98:80"`)
	require.NoError(t, err)
	require.Equal(t, []string{"STATUS_CLIENT", "WARN", "BOOTSTRAP"}, a.pos)
	require.Equal(t, "Handshaking with a relay", a.kv["SUMMARY"])
	require.Equal(t, "91.226.144.98:80", a.kv["HOSTADDR"])
	require.Equal(t, "14", a.kv["PROGRESS"])

	a, err = parseArgs(`HS_DESC UPLOADED abc UNKNOWN $0123~nick X=1 X=2 =odd "quoted word"`)
	require.NoError(t, err)
	require.Equal(t, []string{"HS_DESC", "UPLOADED", "abc", "UNKNOWN", "$0123~nick", "=odd", "quoted word"}, a.pos)
	require.Equal(t, "1", a.kv["X"], "the first of two values wins")

	for _, bad := range []string{`A="unterminated`, `A="x"y`, `"a"b`} {
		_, err := parseArgs(bad)
		require.ErrorIs(t, err, errMalformed, bad)
	}
}

func TestParseBootstrap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Progress
		ok   bool
	}{
		{`NOTICE BOOTSTRAP PROGRESS=0 TAG=starting SUMMARY="Starting"`, Progress{0, "starting", "Starting", ""}, true},
		{`NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`, Progress{100, "done", "Done", ""}, true},
		{`WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=1 RECOMMENDATION=warn`,
			Progress{5, "conn", "Connecting to a relay", "Connection refused"}, true},
		{`WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="x"`, Progress{5, "conn", "x", "problem bootstrapping"}, true},
		{`NOTICE BOOTSTRAP PROGRESS=50 TAG=x SUMMARY="tab\there"`, Progress{50, "x", "tab?here", ""}, true},
		{`NOTICE BOOTSTRAP PROGRESS=101 TAG=done SUMMARY="Done"`, Progress{}, false},
		{`NOTICE BOOTSTRAP PROGRESS=-1 TAG=done SUMMARY="Done"`, Progress{}, false},
		{`NOTICE BOOTSTRAP PROGRESS=x TAG=done`, Progress{}, false},
		{`NOTICE BOOTSTRAP TAG=done`, Progress{}, false},
		{`NOTICE ENOUGH_DIR_INFO`, Progress{}, false},
		{`NOTICE`, Progress{}, false},
		{`NOTICE BOOTSTRAP PROGRESS=5 SUMMARY="open`, Progress{}, false},
	} {
		p, ok := parseBootstrap(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, p, tc.in)
	}
}

func TestAuthenticate_SafeCookie(t *testing.T) {
	f := newFakeControl(t)
	c, cookie := pipeControl(t, f, nil)
	require.NoError(t, c.authenticate(context.Background(), cookie))
	cmds := f.commands()
	require.Len(t, cmds, 3)
	require.Equal(t, "PROTOCOLINFO 1", cmds[0])
	nonce, ok := strings.CutPrefix(cmds[1], "AUTHCHALLENGE SAFECOOKIE ")
	require.True(t, ok, cmds[1])
	require.Len(t, nonce, 64, "a 32-byte client nonce in hex")
	require.True(t, strings.HasPrefix(cmds[2], "AUTHENTICATE "))
	require.NotContains(t, strings.ToLower(cmds[2]), hex.EncodeToString(f.cookie), "SAFECOOKIE never sends the cookie")

	// The connection works on after authentication.
	_, err := c.command(context.Background(), "TAKEOWNERSHIP", []byte("TAKEOWNERSHIP"))
	require.NoError(t, err)
}

func TestAuthenticate_WrongServerHashRefused(t *testing.T) {
	f := newFakeControl(t)
	f.badHash = true
	c, cookie := pipeControl(t, f, nil)
	err := c.authenticate(context.Background(), cookie)
	require.ErrorIs(t, err, errServerHash)
	require.NotContains(t, strings.ToLower(err.Error()), hex.EncodeToString(f.cookie))
	<-c.done
	for _, cmd := range f.commands() {
		require.False(t, strings.HasPrefix(cmd, "AUTHENTICATE"), "no AUTHENTICATE to a server that does not know the cookie")
	}
	_, err = c.command(context.Background(), "GETINFO", []byte("GETINFO version"))
	require.Error(t, err, "the connection is closed")
}

func TestAuthenticate_CookieFallback(t *testing.T) {
	f := newFakeControl(t)
	f.methods = "COOKIE"
	c, cookie := pipeControl(t, f, nil)
	require.NoError(t, c.authenticate(context.Background(), cookie))
	cmds := f.commands()
	require.Equal(t, []string{"PROTOCOLINFO 1", "AUTHENTICATE " + hex.EncodeToString(f.cookie)}, cmds)
}

func TestAuthenticate_NullOnlyIfTorSaysSo(t *testing.T) {
	f := newFakeControl(t)
	f.methods = "NULL"
	c, cookie := pipeControl(t, f, nil)
	require.NoError(t, c.authenticate(context.Background(), cookie))
	require.Equal(t, []string{"PROTOCOLINFO 1", "AUTHENTICATE"}, f.commands())
}

func TestAuthenticate_Refusals(t *testing.T) {
	t.Run("password only", func(t *testing.T) {
		f := newFakeControl(t)
		f.methods = "HASHEDPASSWORD"
		c, cookie := pipeControl(t, f, nil)
		err := c.authenticate(context.Background(), cookie)
		require.ErrorContains(t, err, "no authentication we can do (METHODS=HASHEDPASSWORD)")
	})
	t.Run("no AUTH line", func(t *testing.T) {
		f := newFakeControl(t)
		f.handle = func(f *fakeControl, cmd string) bool {
			if cmd == "PROTOCOLINFO 1" {
				f.send("250-PROTOCOLINFO 1\r\n250 OK\r\n")
				return true
			}
			return false
		}
		c, cookie := pipeControl(t, f, nil)
		require.ErrorContains(t, c.authenticate(context.Background(), cookie), "no authentication we can do")
	})
	t.Run("tor refuses the cookie", func(t *testing.T) {
		f := newFakeControl(t)
		f.methods = "COOKIE"
		c, _ := pipeControl(t, f, nil)
		other := filepath.Join(t.TempDir(), "cookie")
		wrong := make([]byte, 32)
		require.NoError(t, os.WriteFile(other, wrong, 0o600))
		err := c.authenticate(context.Background(), other)
		var re *replyError
		require.ErrorAs(t, err, &re)
		require.Equal(t, 515, re.Status)
		require.Equal(t, "AUTHENTICATE", re.Command)
		require.NotContains(t, err.Error(), hex.EncodeToString(wrong))
	})
	for _, n := range []int{0, 31, 33} {
		t.Run("cookie file of the wrong length", func(t *testing.T) {
			f := newFakeControl(t)
			c, _ := pipeControl(t, f, nil)
			p := filepath.Join(t.TempDir(), "cookie")
			require.NoError(t, os.WriteFile(p, make([]byte, n), 0o600))
			require.ErrorContains(t, c.authenticate(context.Background(), p), "is not 32 bytes")
		})
	}
	t.Run("malformed AUTHCHALLENGE", func(t *testing.T) {
		for _, answer := range []string{
			"250 AUTHCHALLENGE SERVERHASH=00 SERVERNONCE=00\r\n",
			"250 AUTHCHALLENGE SERVERNONCE=" + strings.Repeat("00", 32) + "\r\n",
			"250 SOMETHING ELSE\r\n",
			"250 AUTHCHALLENGE SERVERHASH=\"unterminated\r\n",
		} {
			f := newFakeControl(t)
			f.handle = func(f *fakeControl, cmd string) bool {
				if strings.HasPrefix(cmd, "AUTHCHALLENGE") {
					f.send(answer)
					return true
				}
				return false
			}
			c, cookie := pipeControl(t, f, nil)
			require.ErrorIs(t, c.authenticate(context.Background(), cookie), errMalformed, answer)
		}
	})
}

func TestControl_MalformedReplyEndsTheConnectionCleanly(t *testing.T) {
	for _, garbage := range []string{
		"hello\r\n",
		"250-a\r\n550 b\r\n",
		"250 " + strings.Repeat("x", maxLineLen) + "\r\n",
		"25",
		"\x00\x01\x02\r\n",
	} {
		f := newFakeControl(t)
		f.handle = func(f *fakeControl, cmd string) bool {
			f.send(garbage)
			if garbage == "25" {
				return false // and then the connection ends
			}
			return true
		}
		c, _ := pipeControl(t, f, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.command(ctx, "GETINFO", []byte("GETINFO version"))
		cancel()
		require.Error(t, err)
		if garbage != "25" {
			require.ErrorIs(t, err, errMalformed)
		}
		<-c.done
		_, err2 := c.command(context.Background(), "GETINFO", []byte("GETINFO version"))
		require.Error(t, err2, "later commands fail too")
	}
}

func TestControl_ReplyToNoCommandIsAnError(t *testing.T) {
	f := newFakeControl(t)
	c, _ := pipeControl(t, f, nil)
	f.send("250 OK\r\n")
	<-c.done
	require.ErrorIs(t, c.err(), errMalformed)
}

func TestControl_EventsAndRepliesInOrder(t *testing.T) {
	f := newFakeControl(t)
	f.handle = func(f *fakeControl, cmd string) bool {
		if cmd == "GETINFO version" {
			f.send("650 A 1\r\n650-B 2\r\n650 C\r\n250-version=0.4.9.11\r\n250 OK\r\n650 D 3\r\n")
			return true
		}
		return false
	}
	var mu sync.Mutex
	var events []string
	var seqs []uint64
	c, _ := pipeControl(t, f, func(r *reply) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, r.firstText())
		seqs = append(seqs, r.seq)
	})
	vals, r, err := c.getInfo(context.Background(), "version")
	require.NoError(t, err)
	require.Equal(t, "0.4.9.11", vals["version"])
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 3 }, "three events")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"A 1", "B 2", "D 3"}, events)
	require.Less(t, seqs[1], r.seq)
	require.Greater(t, seqs[2], r.seq)
}

func TestControl_CancelledCommandKeepsRepliesInOrder(t *testing.T) {
	f := newFakeControl(t)
	release := make(chan struct{})
	f.handle = func(f *fakeControl, cmd string) bool {
		if cmd == "GETINFO slow" {
			<-release
			f.send("250-slow=1\r\n250 OK\r\n")
			return true
		}
		return false
	}
	c, _ := pipeControl(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, _, err := c.getInfo(ctx, "slow")
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	close(release)
	vals, _, err := c.getInfo(context.Background(), "status/bootstrap-phase")
	require.NoError(t, err, "the late reply went to the cancelled command, not this one")
	require.Contains(t, vals["status/bootstrap-phase"], "BOOTSTRAP")
}

func TestControl_CommandWithLineBreakRefused(t *testing.T) {
	f := newFakeControl(t)
	c, _ := pipeControl(t, f, nil)
	_, err := c.command(context.Background(), "GETINFO", []byte("GETINFO a\r\nSIGNAL HALT"))
	require.Error(t, err)
	require.Empty(t, f.commands())
}

func TestControl_ErrorReplySanitized(t *testing.T) {
	f := newFakeControl(t)
	f.handle = func(f *fakeControl, cmd string) bool {
		f.send("552 bad \x1b[31mterminal\x07 " + strings.Repeat("z", 1000) + "\r\n")
		return true
	}
	c, _ := pipeControl(t, f, nil)
	_, err := c.command(context.Background(), "GETINFO", []byte("GETINFO x"))
	var re *replyError
	require.True(t, errors.As(err, &re))
	require.Equal(t, 552, re.Status)
	require.NotContains(t, err.Error(), "\x1b")
	require.Less(t, len(err.Error()), 400)
}

func TestParseQuotedList(t *testing.T) {
	l, err := parseQuotedList(`"127.0.0.1:9050" "[::1]:9050"  "unix:/a b/c"`)
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1:9050", "[::1]:9050", "unix:/a b/c"}, l)
	l, err = parseQuotedList(``)
	require.NoError(t, err)
	require.Empty(t, l)
	_, err = parseQuotedList(`"open`)
	require.Error(t, err)

	s, err := pickSocks(`"unix:/x" "10.0.0.1:9050" "[::1]:9150"`)
	require.NoError(t, err)
	require.Equal(t, "[::1]:9150", s)
	s, err = pickSocks(`"0.0.0.0:9050"`)
	require.NoError(t, err)
	require.Empty(t, s)
}
