package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transfer"
)

// fakeFiles is a transfer engine with transfers set by the test.
type fakeFiles struct {
	mu     sync.Mutex
	ts     []transfer.Transfer
	sent   []string // paths given to SendFile
	saved  map[string]string
	events chan transfer.Event
}

func newFakeFiles(ts ...transfer.Transfer) *fakeFiles {
	return &fakeFiles{ts: ts, saved: map[string]string{}, events: make(chan transfer.Event, 16)}
}

func (f *fakeFiles) SendFile(contact, path string) (transfer.Transfer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, path)
	t := transfer.Transfer{ID: "o-new", Contact: contact, Outgoing: true, Name: filepath.Base(path), State: transfer.StatePreparing}
	f.ts = append(f.ts, t)
	return t, nil
}

func (f *fakeFiles) List(contact string) []transfer.Transfer {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []transfer.Transfer
	for _, t := range f.ts {
		if contact == "" || t.Contact == contact {
			out = append(out, t)
		}
	}
	return out
}

func (f *fakeFiles) Get(contact, id string) (transfer.Transfer, bool) {
	for _, t := range f.List(contact) {
		if t.ID == id {
			return t, true
		}
	}
	return transfer.Transfer{}, false
}

func (f *fakeFiles) SaveAs(contact, id, path string) error {
	t, ok := f.Get(contact, id)
	if !ok {
		return transfer.ErrUnknown
	}
	if !t.Outgoing && t.State != transfer.StateDone {
		return transfer.ErrNotReady
	}
	f.mu.Lock()
	f.saved[id] = path
	f.mu.Unlock()
	return os.WriteFile(path, []byte("plaintext of "+id), 0o600)
}

func (f *fakeFiles) Events() <-chan transfer.Event { return f.events }

func TestSizeWords(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1, "1 B"}, {999, "999 B"}, {1000, "1 kB"}, {1050, "1.1 kB"}, {999_999, "1 MB"},
		{12_345_678, "12.3 MB"}, {99_960_000, "100 MB"}, {200_000_000, "200 MB"}, {209_715_200, "210 MB"},
		{1_500_000_000, "1.5 GB"}, {4 << 30, "4.3 GB"},
	} {
		assert.Equal(t, tc.want, sizeWords(tc.n), "%d bytes", tc.n)
	}
	assert.Equal(t, "4.1 MB/s", rateWords(4_100_000))
}

func TestDurationWords(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1 s"}, {300 * time.Millisecond, "1 s"}, {45 * time.Second, "45 s"}, {59*time.Second + time.Millisecond, "1 min"},
		{185 * time.Second, "3 min 5 s"}, {10 * time.Minute, "10 min"}, {3725 * time.Second, "1 h 2 min"},
	} {
		assert.Equal(t, tc.want, durationWords(tc.d), "%v", tc.d)
	}
}

func TestProgressWords_SaysBytesRateAndTimeLeft(t *testing.T) {
	tr := transfer.Transfer{Outgoing: true, Size: 200_000_000, Bytes: 12_300_000, Rate: 4_100_000, State: transfer.StateTransferring, Connected: true}
	assert.Equal(t, "sent 12.3 MB of 200 MB · 4.1 MB/s · 46 s left", progressWords(tr))
	tr.Outgoing, tr.Rate = false, 0
	assert.Equal(t, "received 12.3 MB of 200 MB", progressWords(tr), "no rate: no speed, no time")
	tr.Connected = false
	assert.Equal(t, "received 12.3 MB of 200 MB · waiting for the connection", progressWords(tr))
}

func TestFileReporter_PrintsEveryStateButProgressAtMostTwiceASecond(t *testing.T) {
	var buf bytes.Buffer
	r := newFileReporter(newPrinter(&buf, false), false)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	tr := transfer.Transfer{ID: "o-1", Contact: "c", Outgoing: true, Name: "file.bin", Size: 200_000_000, State: transfer.StateTransferring, Connected: true}
	assert.True(t, r.report(tr, "bob", "bob", ""))
	for i := range 10 { // 10 reports in 400 ms: none printed
		now = now.Add(40 * time.Millisecond)
		tr.Bytes = int64(i+1) * 1_000_000
		assert.False(t, r.report(tr, "bob", "bob", ""))
	}
	now = now.Add(100 * time.Millisecond)
	r.report(tr, "bob", "bob", "")
	tr.Connected = false // at once, however soon
	r.report(tr, "bob", "bob", "")
	tr.State, tr.Bytes = transfer.StateDone, tr.Size
	assert.True(t, r.report(tr, "bob", "bob", ""))
	prep := transfer.Transfer{ID: "o-2", Contact: "c", Outgoing: true, Name: "b.bin", Size: 5, State: transfer.StatePreparing}
	r.report(prep, "bob", "bob", "")
	prep.Connected = true
	assert.False(t, r.report(prep, "bob", "bob", ""), "no progress line while preparing")
	assert.Equal(t, "sending file.bin (200 MB) to bob ...\n"+
		"sent 10 MB of 200 MB\n"+
		"sent 10 MB of 200 MB · waiting for the connection\n"+
		"bob received file.bin (200 MB) and verified its SHA-256\n"+
		"preparing b.bin (5 B): copying it into the profile and hashing it ...\n", buf.String())
}

func TestFileReporter_JSONCarriesTheTransfer(t *testing.T) {
	var buf bytes.Buffer
	r := newFileReporter(newPrinter(&buf, true), true)
	sum := sha256.Sum256([]byte("x"))
	tr := transfer.Transfer{ID: "i-1", Contact: "c0ffee", Name: "a\x1bb.txt", Size: 10, Bytes: 4, SHA256: sum, State: transfer.StateTransferring,
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Connected: true}
	r.report(tr, "bob", "Bob", "")
	var e struct {
		Event string   `json:"event"`
		ID    string   `json:"id"`
		Text  string   `json:"text"`
		File  jsonFile `json:"file"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &e), buf.String())
	assert.Equal(t, "file", e.Event)
	assert.Equal(t, "i-1", e.ID)
	assert.Equal(t, `receiving a\x1bb.txt (10 B) from bob ...`, e.Text, "the name is escaped in words")
	assert.Equal(t, jsonFile{ID: "i-1", Contact: "c0ffee", ContactName: "Bob", State: "transferring", Name: "a\x1bb.txt", Size: 10, Bytes: 4,
		SHA256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881", Time: "2026-01-02T03:04:05Z", Connected: true}, e.File)
}

func TestFileEndWords(t *testing.T) {
	out := transfer.Transfer{Outgoing: true, Name: "f.bin", State: transfer.StateFailed}
	in := out
	in.Outgoing = false
	for _, tc := range []struct {
		t    transfer.Transfer
		err  error
		want string
	}{
		{out, &filexfer.PartnerError{Code: filexfer.CodeDeclined}, "bob declined f.bin"},
		{out, &filexfer.PartnerError{Code: filexfer.CodeDeclined, Reason: "no\x07 thanks"}, `bob declined f.bin (bob says: no\x07 thanks)`},
		{in, filexfer.ErrDeclined, "you declined f.bin from bob"},
		{out, &filexfer.PartnerError{Code: filexfer.CodeCancelled}, "bob cancelled f.bin"},
		{out, filexfer.ErrCancelled, "you cancelled f.bin"},
		{in, filexfer.ErrHashMismatch, "f.bin arrived damaged (its SHA-256 is not the offer's) and was discarded"},
		{out, &filexfer.PartnerError{Code: filexfer.CodeHashMismatch}, "f.bin arrived damaged (its SHA-256 is not the offer's) and was discarded"},
		{out, filexfer.ErrSourceChanged, "f.bin changed or could not be read while it was being sent; send it again"},
		{out, &filexfer.PartnerError{Code: filexfer.CodeStorage}, "bob could not store f.bin (a full disk?)"},
		{in, filexfer.ErrStorage, "f.bin could not be stored (is the disk full?)"},
		{in, filexfer.ErrOutOfOrder, "the transfer of f.bin broke the file protocol and was ended"},
		{out, &filexfer.PartnerError{Code: filexfer.CodeBusy, Reason: "too many offers are waiting for an answer"},
			"bob has too many of your files waiting for an answer; send f.bin again once bob has answered some"},
		{in, errors.New("boom"), "f.bin failed: boom"},
	} {
		tc.t.Err = tc.err
		assert.Equal(t, tc.want, fileEndWords(tc.t, "bob"))
	}
	assert.Equal(t, "declined", failedFileWords(&filexfer.PartnerError{Code: filexfer.CodeDeclined}))
	assert.Equal(t, "too many offers waiting", failedFileWords(&filexfer.PartnerError{Code: filexfer.CodeBusy}))
}

func TestListFiles_TableAndJSON(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f := newFakeFiles(
		transfer.Transfer{ID: "o-aa", Contact: "k1", Outgoing: true, Name: "report.pdf", Size: 2_500_000, Bytes: 2_500_000, State: transfer.StateDone, Time: at},
		transfer.Transfer{ID: "i-bb", Contact: "k2", Name: "big.iso", Size: 200_000_000, Bytes: 96_000_000, State: transfer.StateTransferring, Time: at},
		transfer.Transfer{ID: "i-cc", Contact: "k2", Name: "x", Size: 5, State: transfer.StateFailed, Err: &filexfer.PartnerError{Code: filexfer.CodeCancelled}, Time: at},
	)
	names := func(id string) string { return map[string]string{"k1": "alice", "k2": "bob"}[id] }
	var buf bytes.Buffer
	require.NoError(t, listFiles(f, "", names, false, &buf))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 4)
	assert.Regexp(t, `^ID\s+CONTACT\s+DIRECTION\s+STATE\s+NAME\s+SIZE\s+TIME$`, lines[0])
	assert.Regexp(t, `^o-aa\s+alice\s+sent\s+done\s+report.pdf\s+2.5 MB\s+\S`, lines[1])
	assert.Regexp(t, `^i-bb\s+bob\s+received\s+transferring 48%\s+big.iso\s+200 MB`, lines[2])
	assert.Regexp(t, `^i-cc\s+bob\s+received\s+failed \(cancelled\)\s+x\s+5 B`, lines[3])

	buf.Reset()
	require.NoError(t, listFiles(f, "k2", names, true, &buf))
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, "only bob's")
	var j jsonFile
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &j))
	assert.Equal(t, jsonFile{ID: "i-bb", Contact: "k2", ContactName: "bob", State: "transferring", Name: "big.iso", Size: 200_000_000, Bytes: 96_000_000,
		Time: "2026-03-04T05:06:07Z"}, j)

	buf.Reset()
	require.NoError(t, listFiles(newFakeFiles(), "", names, false, &buf))
	assert.Equal(t, "No files sent or received yet.\n", buf.String())
}

func TestSaveFile_RefusesAnIncompleteFileAndSavesADoneOne(t *testing.T) {
	f := newFakeFiles(
		transfer.Transfer{ID: "i-0123456789", Contact: "k2", Name: "big.iso", Size: 200_000_000, Bytes: 96_000_000, State: transfer.StateTransferring},
		transfer.Transfer{ID: "i-0999", Contact: "k2", Name: "gone.bin", Size: 9, State: transfer.StateFailed, Err: filexfer.ErrHashMismatch},
		transfer.Transfer{ID: "i-abcdef", Contact: "k2", Name: "photo.png", Size: 9, Bytes: 9, State: transfer.StateDone},
	)
	names := func(string) string { return "bob" }
	dir := t.TempDir()
	var buf bytes.Buffer
	err := saveFile(f, "", "i-0123456789", filepath.Join(dir, "out"), false, names, &buf)
	require.Error(t, err)
	assert.Equal(t, "big.iso from bob is not complete yet (96 MB of 200 MB received): it can be saved once it is done", err.Error())
	err = saveFile(f, "", "i-0999", filepath.Join(dir, "out"), false, names, &buf)
	assert.EqualError(t, err, "gone.bin from bob was not received (damaged: SHA-256 mismatch): there is nothing to save")
	err = saveFile(f, "", "i-0", filepath.Join(dir, "out"), false, names, &buf)
	assert.ErrorContains(t, err, `several files have ids that start with "i-0"`)
	err = saveFile(f, "k1", "i-abcdef", filepath.Join(dir, "out"), false, names, &buf)
	assert.ErrorContains(t, err, "no file has the id", "another contact's file")

	// A folder: saved into it under the file's name; a prefix of the id does.
	require.NoError(t, saveFile(f, "k2", "i-abc", dir, false, names, &buf))
	assert.Equal(t, "Saved photo.png (9 B) to "+filepath.Join(dir, "photo.png")+"\n", buf.String())
	err = saveFile(f, "", "i-abcdef", dir, false, names, &buf)
	assert.ErrorContains(t, err, "exists: choose another name, or replace it with --force")
	require.NoError(t, saveFile(f, "", "i-abcdef", dir, true, names, &buf))
}

func TestSendOrResume_ContinuesAnUnfinishedTransferOfTheSameBytesOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "file.bin")
	require.NoError(t, os.WriteFile(path, []byte("the bytes of the file"), 0o600))
	sum := sha256.Sum256([]byte("the bytes of the file"))
	size := int64(len("the bytes of the file"))
	other := sha256.Sum256([]byte("another version, same size"))

	for _, tc := range []struct {
		name   string
		ts     []transfer.Transfer
		resume string // the id continued; "" for a new transfer
	}{
		{"nothing before", nil, ""},
		{"the same bytes, unfinished", []transfer.Transfer{
			{ID: "o-1", Contact: "k", Outgoing: true, Size: size, SHA256: sum, Bytes: 5, State: transfer.StateTransferring},
			{ID: "o-2", Contact: "k", Outgoing: true, Size: size, SHA256: sum, Bytes: 9, State: transfer.StateTransferring},
		}, "o-2"},
		{"the same bytes, done already", []transfer.Transfer{{ID: "o-1", Contact: "k", Outgoing: true, Size: size, SHA256: sum, State: transfer.StateDone}}, ""},
		{"the same bytes to another contact", []transfer.Transfer{{ID: "o-1", Contact: "z", Outgoing: true, Size: size, SHA256: sum, State: transfer.StateWaiting}}, ""},
		{"the same bytes, incoming", []transfer.Transfer{{ID: "i-1", Contact: "k", Size: size, SHA256: sum, State: transfer.StateTransferring}}, ""},
		{"other bytes of the same size and name", []transfer.Transfer{{ID: "o-1", Contact: "k", Outgoing: true, Name: "file.bin", Size: size, SHA256: other, State: transfer.StateWaiting}}, ""},
		{"being prepared from a file of that name", []transfer.Transfer{{ID: "o-1", Contact: "k", Outgoing: true, Name: "file.bin", Size: size, State: transfer.StatePreparing}}, "o-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeFiles(tc.ts...)
			got, resumed, err := sendOrResume(f, "k", path)
			require.NoError(t, err)
			if tc.resume == "" {
				assert.False(t, resumed)
				assert.Equal(t, []string{path}, f.sent)
				assert.Equal(t, "o-new", got.ID)
				return
			}
			assert.True(t, resumed)
			assert.Empty(t, f.sent)
			assert.Equal(t, tc.resume, got.ID)
		})
	}
}

// fakeLinker is a session that records dials.
type fakeLinker struct {
	events chan session.Event
	mu     sync.Mutex
	dials  int
}

func (l *fakeLinker) Events() <-chan session.Event { return l.events }
func (l *fakeLinker) ReconnectNow(string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dials++
	return nil
}
func (l *fakeLinker) Accept(string) error  { return nil }
func (l *fakeLinker) Decline(string) error { return nil }
func (l *fakeLinker) dialed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dials
}

func TestFileSend_ExitsByHowTheTransferEnds(t *testing.T) {
	defer func(lo, hi time.Duration) { fileRedialMin, fileRedialMax = lo, hi }(fileRedialMin, fileRedialMax)
	fileRedialMin, fileRedialMax = time.Millisecond, 2*time.Millisecond
	bob := profile.Contact{ID: "k", Name: "bob", Addrs: []string{"127.0.0.1:1"}}
	start := transfer.Transfer{ID: "o-1", Contact: "k", Outgoing: true, Name: "f.bin", Size: 100, State: transfer.StateWaiting, Connected: true}
	run := func(wait time.Duration, resumed bool, feed func(l *fakeLinker, f *fakeFiles)) (int, string, string, *fakeLinker) {
		l := &fakeLinker{events: make(chan session.Event, 16)}
		f := newFakeFiles(start)
		var out, errOut bytes.Buffer
		fs := &fileSend{s: l, files: f, c: bob, out: newPrinter(&out, false), stderr: &errOut, wait: wait}
		go feed(l, f)
		code := fs.run(start, resumed)
		return code, out.String(), errOut.String(), l
	}
	at := func(st transfer.State, bytes int64, err error) transfer.Event {
		t := start
		t.State, t.Bytes, t.Err = st, bytes, err
		return transfer.Event{Transfer: t}
	}

	code, out, _, l := run(0, true, func(l *fakeLinker, f *fakeFiles) {
		// A cut: dialed again.
		l.events <- session.Ended{Contact: "k", Connected: true, Reason: session.EndTimeout}
		for l.dialed() < 2 {
			time.Sleep(time.Millisecond)
		}
		f.events <- transfer.Event{Transfer: transfer.Transfer{ID: "o-other", Contact: "k", State: transfer.StateDone}}
		f.events <- at(transfer.StateTransferring, 50, nil)
		f.events <- at(transfer.StateDone, 100, nil)
	})
	assert.Equal(t, SendDelivered, code)
	assert.GreaterOrEqual(t, l.dialed(), 2)
	assert.Equal(t, "continuing f.bin (100 B) to bob from where it stopped\n"+
		"bob stopped responding. Trying again in 1 s.\n"+
		"sending f.bin (100 B) to bob ...\n"+
		"bob received f.bin (100 B) and verified its SHA-256\n", out)

	code, _, errOut, _ := run(0, false, func(l *fakeLinker, f *fakeFiles) {
		f.events <- at(transfer.StateFailed, 0, &filexfer.PartnerError{Code: filexfer.CodeDeclined})
	})
	assert.Equal(t, SendError, code)
	assert.Equal(t, "securechat: not sent: bob declined f.bin\n", errOut)

	code, out, _, _ = run(20*time.Millisecond, false, func(l *fakeLinker, f *fakeFiles) {
		f.events <- at(transfer.StateTransferring, 40, nil)
	})
	assert.Equal(t, SendQueued, code)
	assert.Contains(t, out, "not done yet: 40 B of f.bin (100 B) arrived; the rest goes to bob at the next connection (securechat send-file again continues it)")
}

func TestSendFile_ErrorsAndUsage(t *testing.T) {
	aliceDir := newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	alice := []string{"--profile", aliceDir, "--passphrase-file", pf}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"send-file", "bob"}, SendUsage, "usage: securechat send-file"},
		{[]string{"send-file", "bob", empty, "--wait", "-1s"}, SendUsage, "cannot be negative"},
		{[]string{"send-file", "bob", filepath.Join(dir, "missing")}, SendError, "there is no file " + filepath.Join(dir, "missing")},
		{[]string{"send-file", "bob", dir}, SendError, "is a folder; send-file sends one file"},
		{[]string{"send-file", "bob", empty}, SendError, "is empty; only files of 1 byte to 4 GiB can be sent"},
		{[]string{"files"}, 2, "usage: securechat files list"},
		{[]string{"files", "save", "i-1"}, 2, "usage: securechat files list"},
		{[]string{"files", "list", "a", "b"}, 2, "usage: securechat files list"},
		{[]string{"files", "list", "nobody"}, 1, "no contact is called"},
		{[]string{"host", "--plaintext", "--accept-files"}, 2, "--plaintext carries no files"},
	} {
		code, _, errOut := runCmd(append(tc.args, alice...)...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.err, "%v", tc.args)
	}
}

func TestChat_AnOfferWithoutAcceptFilesSaysHowToReceive(t *testing.T) {
	for _, accept := range []bool{false, true} {
		var buf bytes.Buffer
		out := newPrinter(&buf, false)
		c := &chat{out: out, o: chatOptions{acceptFiles: accept}, fileNews: newFileReporter(out, true),
			labels: map[string]string{"k": "bob"}}
		tr := transfer.Transfer{ID: "i-1", Contact: "k", Name: "file.bin", Size: 200_000_000, State: transfer.StateWaiting, Connected: true}
		c.file(tr)
		tr.State, tr.Bytes = transfer.StateDone, tr.Size
		c.file(tr)
		if accept {
			assert.Equal(t, "bob offers file.bin (200 MB); receiving it ...\n"+
				"received file.bin (200 MB) from bob; its SHA-256 matches. Copy it out with: securechat files save i-1 PATH\n", buf.String())
		} else {
			assert.Contains(t, buf.String(), "bob offers file.bin (200 MB); run with --accept-files to receive files\n")
		}
	}
}

func TestSendFile_AnOfferWaitsForAHostWithoutAcceptFiles(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	addr := meet(t, bobDir, aliceDir, pf)
	alice := []string{"--profile", aliceDir, "--passphrase-file", pf}
	path := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(path, []byte("some notes\n"), 0o600))

	// --wait 0: prepared and queued for the next connection.
	code, out, errOut := runCmd(append([]string{"send-file", "bob", path, "--wait", "0", "--json"}, alice...)...)
	require.Equal(t, SendQueued, code, errOut)
	assert.Contains(t, out, `"event":"not_done"`)
	assert.Contains(t, out, `"text":"queued: notes.txt (11 B) is offered to bob at the next connection (securechat send-file again waits for it)"`)

	// Bob hosts without --accept-files: the offer waits, and he is told how
	// to take it; alice's send-file continues the queued transfer and
	// gives up after its wait.
	host := startTerminal(t, "host", "--listen", addr, "--profile", bobDir, "--passphrase-file", pf, "--json")
	host.waitFor("listening", nil)
	code, out, errOut = runCmd(append([]string{"send-file", "bob", path, "--wait", "2s"}, alice...)...)
	require.Equal(t, SendQueued, code, errOut)
	assert.Contains(t, out, "continuing notes.txt (11 B) to bob from where it stopped\n")
	assert.Contains(t, out, "not done yet: bob has not accepted notes.txt (11 B); it stays offered")
	offer := host.waitFor("file", nil)
	assert.Equal(t, "waiting", offer["file"].(map[string]any)["state"])
	assert.Equal(t, "alice offers notes.txt (11 B); run with --accept-files to receive files", offer["text"])

	code, out, errOut = runCmd(append([]string{"files", "list"}, alice...)...)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^o-[0-9a-f]{32}\s+bob\s+sent\s+waiting\s+notes.txt\s+11 B\s`, out)
	require.NoError(t, host.stdin.Close())
	assert.Equal(t, 0, host.exitCode())

	code, out, errOut = runCmd("files", "list", "alice", "--json", "--profile", bobDir, "--passphrase-file", pf)
	require.Equal(t, 0, code, errOut)
	var j jsonFile
	require.NoError(t, json.Unmarshal([]byte(out), &j), out)
	assert.Equal(t, "waiting", j.State)
	code, _, errOut = runCmd("files", "save", j.ID, t.TempDir(), "--profile", bobDir, "--passphrase-file", pf)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "notes.txt from alice is not complete yet (0 B of 11 B received): it can be saved once it is done")
}

func TestFileSend_AFileBeingPreparedOutlastsTheWaitButNotCtrlC(t *testing.T) {
	bob := profile.Contact{ID: "k", Name: "bob", Addrs: []string{"127.0.0.1:1"}}
	prep := transfer.Transfer{ID: "o-1", Contact: "k", Outgoing: true, Name: "f.bin", Size: 100, State: transfer.StatePreparing}
	for _, tc := range []struct {
		name  string
		wait  time.Duration
		stop  bool
		code  int
		words string
	}{
		{"the wait ends while preparing", 10 * time.Millisecond, false, SendQueued, "not done yet: bob has not accepted f.bin (100 B)"},
		{"ctrl-c while preparing", 0, true, SendError, "securechat: stopped while f.bin (100 B) was being prepared: nothing was offered (send-file again starts over)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &fakeLinker{events: make(chan session.Event, 16)}
			f := newFakeFiles(prep)
			stop := make(chan os.Signal, 1)
			var out, errOut bytes.Buffer
			fs := &fileSend{s: l, files: f, c: bob, out: newPrinter(&out, false), stderr: &errOut, wait: tc.wait, stop: stop}
			if tc.stop {
				stop <- os.Interrupt
			} else {
				go func() {
					time.Sleep(50 * time.Millisecond) // well past the wait
					w := prep
					w.State, w.Connected = transfer.StateWaiting, true
					f.events <- transfer.Event{Transfer: w}
				}()
			}
			assert.Equal(t, tc.code, fs.run(prep, false))
			assert.Contains(t, out.String()+errOut.String(), tc.words)
		})
	}
}

func TestFiles_AQueuedFileGoesOutFromHostToConnectWithAcceptFiles(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	addr := meet(t, bobDir, aliceDir, pf)
	bob := []string{"--profile", bobDir, "--passphrase-file", pf}
	alice := []string{"--profile", aliceDir, "--passphrase-file", pf}
	dir := t.TempDir()
	src := filepath.Join(dir, "photo.jpg")
	data := bytes.Repeat([]byte("not really a photo "), 20_000) // 380 kB: several windows
	require.NoError(t, os.WriteFile(src, data, 0o600))

	// Bob knows no address of alice's: send-file queues the file and says so.
	code, out, errOut := runCmd(append([]string{"send-file", "alice", src}, bob...)...)
	require.Equal(t, SendQueued, code, errOut)
	assert.Contains(t, out, "alice has no address to dial: the file goes out when alice connects to you (securechat host).")
	assert.Contains(t, out, "queued: photo.jpg (380 kB) is offered to alice at the next connection")

	// Bob hosts; alice connects with --accept-files and receives it.
	host := startTerminal(t, append([]string{"host", "--listen", addr, "--json"}, bob...)...)
	host.waitFor("listening", nil)
	conn := startTerminal(t, append([]string{"connect", "--contact", "bob", "--accept-files", "--json"}, alice...)...)
	id := waitFile(t, conn, "done")["id"].(string)
	assert.Regexp(t, `^i-[0-9a-f]{32}$`, id)
	waitFile(t, host, "done")
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())
	require.NoError(t, host.stdin.Close())
	assert.Equal(t, 0, host.exitCode())

	code, out, errOut = runCmd(append([]string{"files", "save", "bob", id[:8], dir, "--force"}, alice...)...)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Saved photo.jpg (380 kB) to "+src+"\n", out)
	got, err := os.ReadFile(src)
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

// waitFile returns the "file" object of the first file event in state.
func waitFile(t *testing.T, term *terminal, state string) map[string]any {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		term.mu.Lock()
		for _, e := range term.events {
			if f, ok := e["file"].(map[string]any); ok && e["event"] == "file" && f["state"] == state {
				term.mu.Unlock()
				return f
			}
		}
		term.mu.Unlock()
		select {
		case <-term.more:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			term.mu.Lock()
			defer term.mu.Unlock()
			t.Fatalf("no file event in state %s; events %v; stderr %s", state, term.events, term.stderr.String())
		}
	}
}

func TestChat_SendOffersTheCurrentPartnerAFileAndTheChatEndsOnceItArrived(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	addr := meet(t, bobDir, aliceDir, pf)
	bob := []string{"--profile", bobDir, "--passphrase-file", pf}
	alice := []string{"--profile", aliceDir, "--passphrase-file", pf}
	src := filepath.Join(t.TempDir(), "notes.txt")
	data := bytes.Repeat([]byte("a line of notes\n"), 30_000) // 480 kB
	require.NoError(t, os.WriteFile(src, data, 0o600))

	host := startTerminal(t, append([]string{"host", "--listen", addr, "--accept-files", "--json"}, bob...)...)
	host.waitFor("listening", nil)
	conn := startTerminal(t, append([]string{"connect", "--contact", "bob", "--json"}, alice...)...)
	conn.waitFor("connected", nil)
	_, err := io.WriteString(conn.stdin, "/send "+filepath.Join(t.TempDir(), "not-there")+"\n")
	require.NoError(t, err)
	conn.waitFor("error", nil)
	_, err = io.WriteString(conn.stdin, "/send "+src+"\n")
	require.NoError(t, err)
	// The input ends at once: the chat stays until the file has arrived.
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())
	waitFile(t, conn, "done")
	id := waitFile(t, host, "done")["id"].(string)
	require.NoError(t, host.stdin.Close())
	assert.Equal(t, 0, host.exitCode())

	out := filepath.Join(t.TempDir(), "copy.txt")
	code, _, errOut := runCmd(append([]string{"files", "save", "alice", id, out}, bob...)...)
	require.Equal(t, 0, code, errOut)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, data, got)
}
