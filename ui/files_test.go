package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/clipimg"
	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transfer"
)

const (
	offerID = "i-0123456789abcdef0123456789abcdef"
	mb      = 1_000_000
)

// fileBubble is the file view of the bubble showing transfer id.
func fileBubble(t *testing.T, l *messageList, id string) *fileView {
	t.Helper()
	b := bubbleWith(t, l, fileRowID(id))
	require.NotNil(t, b.rend.file, "the bubble of %s shows no file", id)
	require.True(t, b.rend.file.Visible())
	return b.rend.file
}

// fileText is what a file bubble says: the name, size and type, and the
// state's line.
func fileText(v *fileView) string {
	return v.head.String() + "\n" + v.state.String()
}

// fileButtons are the labels of the buttons a file bubble shows.
func fileButtons(v *fileView) []string {
	var out []string
	for _, b := range v.buttons() {
		out = append(out, b.Text)
	}
	return out
}

// tapFile taps the button labelled label in a file bubble.
func tapFile(t *testing.T, v *fileView, label string) {
	t.Helper()
	for _, b := range v.buttons() {
		if b.Text == label {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("no %q in the file bubble (it has %v)", label, fileButtons(v))
}

// filesApp unlocks with a fake Files, lets Bob in and shows his thread.
func filesApp(t *testing.T) (*fixture, *fakeFiles, *messenger) {
	f := newFixture(t, true)
	files := f.withFiles()
	m := f.connected()
	require.NotNil(t, m.files)
	return f, files, m
}

// An offer from Bob shows in his thread with its name, size and type,
// and Accept and Decline.
func TestFiles_IncomingOfferShowsNameSizeAndAcceptDecline(t *testing.T) {
	f, files, m := filesApp(t)
	files.offer(bobFP, offerID, "holiday.png", "image/png", 4_200_000)

	v := fileBubble(t, m.thread(), offerID)
	text := fileText(v)
	assert.Contains(t, text, "holiday.png")
	assert.Contains(t, text, "4.2 MB · PNG image")
	assert.Equal(t, []string{"Accept", "Decline"}, fileButtons(v))
	assert.False(t, v.bar.Visible(), "nothing moves yet")
	assert.False(t, bubbleWith(t, m.thread(), fileRowID(offerID)).r.outgoing, "on the left: theirs")
	assert.Equal(t, "File: holiday.png", m.peers[bobFP].preview())

	// an offer from a contact not shown counts as unread, as a message
	f.comesIn(2, someone("Carol", carolFP, session.TrustKnown))
	files.offer(carolFP, "i-c", "list.txt", "text/plain", 12)
	assert.Equal(t, 1, m.peers[carolFP].unread)
	assert.Equal(t, bobFP, m.selected.id, "the thread shown stays")
}

// The session carries the files only when they are the real engine; a
// fake, or none, leaves session.Config.Files nil.
func TestSessionConfig_FilesOnlyTheEngine(t *testing.T) {
	v := sampleVault()
	assert.Nil(t, sessionConfig(v, nil).Files)
	assert.Nil(t, sessionConfig(v, newFakeFiles()).Files)
	var none *transfer.Engine
	assert.Nil(t, sessionConfig(v, none).Files)
}

// Accept calls the engine; the bubble then shows the progress with the
// speed and the time left, and a progress event redraws that bubble
// alone, never the list.
func TestFiles_AcceptShowsProgressWithSpeedAndTimeLeft(t *testing.T) {
	_, files, m := filesApp(t)
	files.offer(bobFP, offerID, "film.mkv", "video/x-matroska", 200*mb)
	tapFile(t, fileBubble(t, m.thread(), offerID), "Accept")
	assert.Equal(t, []string{bobFP + "/" + offerID}, files.got(&files.accepted))

	v := fileBubble(t, m.thread(), offerID)
	assert.Equal(t, []string{"Cancel"}, fileButtons(v))
	assert.True(t, v.bar.Visible())

	l := m.thread()
	files.progress(bobFP, offerID, 12_300_000, 4_100_000)
	v = fileBubble(t, l, offerID)
	assert.Contains(t, fileText(v), "12.3 MB of 200 MB · 4.1 MB/s · 46 s left")
	assert.InDelta(t, 0.0615, v.bar.Value, 0.0001)
	before := l.updates
	for n := int64(2); n <= 10; n++ {
		files.progress(bobFP, offerID, n*10*mb, 4_100_000)
	}
	assert.Equal(t, before, l.updates, "progress redraws its bubble, not the list")
	assert.Contains(t, fileText(fileBubble(t, l, offerID)), "100 MB of 200 MB · 4.1 MB/s · 25 s left")
}

// Decline calls the engine, and the bubble says the file was declined,
// with nothing left to do.
func TestFiles_Decline(t *testing.T) {
	_, files, m := filesApp(t)
	files.offer(bobFP, offerID, "invoice.pdf", "application/pdf", 80_000)
	tapFile(t, fileBubble(t, m.thread(), offerID), "Decline")
	assert.Equal(t, []string{bobFP + "/" + offerID}, files.got(&files.declined))
	v := fileBubble(t, m.thread(), offerID)
	assert.Contains(t, fileText(v), "You declined the file.")
	assert.Empty(t, fileButtons(v))
}

// Either side may cancel mid-transfer: our Cancel calls the engine, the
// partner's comes as an event; both say who cancelled.
func TestFiles_CancelMidTransferFromEitherSide(t *testing.T) {
	t.Run("we cancel", func(t *testing.T) {
		_, files, m := filesApp(t)
		files.offer(bobFP, offerID, "big.iso", "application/octet-stream", 700*mb)
		tapFile(t, fileBubble(t, m.thread(), offerID), "Accept")
		files.progress(bobFP, offerID, 70*mb, 5*mb)
		tapFile(t, fileBubble(t, m.thread(), offerID), "Cancel")
		assert.Equal(t, []string{bobFP + "/" + offerID}, files.got(&files.cancelled))
		v := fileBubble(t, m.thread(), offerID)
		assert.Contains(t, fileText(v), "You cancelled the transfer.")
		assert.False(t, v.bar.Visible())
		assert.Empty(t, fileButtons(v))
	})
	t.Run("they cancel our file", func(t *testing.T) {
		f, files, m := filesApp(t)
		f.openPath = "/home/alice/big.iso"
		test.Tap(m.attach)
		id := files.List(bobFP)[0].ID
		files.change(bobFP, id, func(t *transfer.Transfer) { t.State, t.Connected = transfer.StateTransferring, true })
		files.progress(bobFP, id, 1*mb, 2*mb)
		files.partnerEnds(bobFP, id, filexfer.CodeCancelled, "")
		v := fileBubble(t, m.thread(), id)
		assert.Contains(t, fileText(v), "Bob cancelled the transfer.")
		assert.Empty(t, fileButtons(v))
	})
}

// A lost connection pauses a transfer where it was; once Bob is back it
// continues from there and "Paused" goes away.
func TestFiles_DisconnectPausesAndTheTransferResumes(t *testing.T) {
	f, files, m := filesApp(t)
	files.offer(bobFP, offerID, "photos.zip", "application/zip", 50*mb)
	tapFile(t, fileBubble(t, m.thread(), offerID), "Accept")
	files.progress(bobFP, offerID, 20*mb, 2*mb)

	f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndNetwork})
	assert.Contains(t, fileText(fileBubble(t, m.thread(), offerID)), "Paused — continues when Bob is back", "from the session's news alone")
	files.connected(bobFP, offerID, false)
	v := fileBubble(t, m.thread(), offerID)
	assert.Contains(t, fileText(v), "Paused — continues when Bob is back")
	assert.InDelta(t, 0.4, v.bar.Value, 0.001, "the bar stays where it was")
	assert.Equal(t, []string{"Cancel"}, fileButtons(v))

	f.comesIn(2, partner(session.TrustKnown))
	assert.NotContains(t, fileText(fileBubble(t, m.thread(), offerID)), "Paused", "connected again, before the engine's news")
	files.connected(bobFP, offerID, true)
	files.progress(bobFP, offerID, 21*mb, 2*mb)
	v = fileBubble(t, m.thread(), offerID)
	assert.NotContains(t, fileText(v), "Paused")
	assert.Contains(t, fileText(v), "21 MB of 50 MB · 2 MB/s · 15 s left")
	assert.InDelta(t, 0.42, v.bar.Value, 0.001)
}

// A complete file offers Save as…, which asks where and has the engine
// write it there; a picture shows its thumbnail (made once, bounded),
// which opens the picture.
func TestFiles_DoneShowsSaveAsAndAPictureItsThumbnail(t *testing.T) {
	f, files, m := filesApp(t)
	files.offer(bobFP, offerID, "cat.jpg", "image/jpeg", 2*mb)
	tapFile(t, fileBubble(t, m.thread(), offerID), "Accept")
	files.change(bobFP, offerID, func(t *transfer.Transfer) { t.State, t.Bytes = transfer.StateVerifying, t.Size })
	assert.Contains(t, fileText(fileBubble(t, m.thread(), offerID)), "Checking…")
	files.done(bobFP, offerID, true)

	v := fileBubble(t, m.thread(), offerID)
	assert.Equal(t, []string{"Save as…"}, fileButtons(v))
	require.True(t, v.picture.Visible(), "the thumbnail shows instead of the icon")
	assert.False(t, v.icon.Visible())
	b := v.picture.img.Image.Bounds()
	assert.Equal(t, thumbSide, max(b.Dx(), b.Dy()), "bounded")
	assert.Equal(t, []int{thumbSide}, files.thumbSides)
	files.change(bobFP, offerID, func(*transfer.Transfer) {}) // any other news: no second thumbnail
	assert.Equal(t, []int{thumbSide}, files.thumbSides)

	f.savePath = "/home/alice/Downloads/cat.jpg"
	tapFile(t, fileBubble(t, m.thread(), offerID), "Save as…")
	assert.Equal(t, []string{"cat.jpg"}, f.saveAsked, "the dialog proposes the name")
	assert.Equal(t, []string{offerID + " /home/alice/Downloads/cat.jpg"}, files.got(&files.saved))

	files.mu.Lock()
	files.saveErr = fmt.Errorf("open /home/alice/Downloads/cat.jpg: %w", fs.ErrPermission)
	files.mu.Unlock()
	tapFile(t, fileBubble(t, m.thread(), offerID), "Save as…")
	assert.Contains(t, dialogText(t, f.win), "Could not save cat.jpg: SecureChat may not read or write it.")
	f.win.Canvas().Overlays().Top().Hide()

	test.Tap(fileBubble(t, m.thread(), offerID).picture)
	require.NotNil(t, f.ui.picture, "a tap opens the picture")
	assert.Equal(t, []int{thumbSide, pictureSide}, files.thumbSides)
	require.Eventually(t, func() bool { return f.win.Canvas().Overlays().Top() != nil }, 5*time.Second, 10*time.Millisecond)
	f.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	top := f.win.Canvas().Overlays().Top()
	assert.True(t, top == nil || !top.Visible(), "Escape closes the picture")
}

// A name as the engine hands it over (cleaned of control and bidi
// characters, but anything else) shows as it is: markup stays text.
func TestFiles_HostileNameDisplaysAsPlainText(t *testing.T) {
	_, files, m := filesApp(t)
	name := "**urgent** <b>invoice</b> [click](https://evil.example) _x_.pdf.exe"
	files.offer(bobFP, offerID, name, "text/html; charset=<script>", 1234)
	v := fileBubble(t, m.thread(), offerID)
	require.Len(t, v.head.Segments, 2)
	seg, ok := v.head.Segments[0].(*widget.TextSegment)
	require.True(t, ok, "the name is a plain text segment")
	assert.Equal(t, name, seg.Text)
	assert.Contains(t, fileText(v), "1.2 kB · EXE file", "the offered type is never shown raw")
	for _, o := range test.LaidOutObjects(v) {
		_, link := o.(*widget.Hyperlink)
		assert.False(t, link, "no link is made of the name")
	}
}

// The settings' Files tab: accepting pictures from verified contacts is
// off by default, saved in the profile when checked, and shown checked
// when the settings open again.
func TestFiles_AutoAcceptSettingIsSavedAndSurvivesReopening(t *testing.T) {
	f, _, m := filesApp(t)
	test.Tap(m.settings)
	s := f.ui.settings
	require.NotNil(t, s.autoAccept, "a Files tab with the setting")
	assert.False(t, s.autoAccept.Checked, "off by default")
	test.Tap(s.autoAccept)
	assert.True(t, f.vault.settings.AutoAcceptPictures)
	s.dialog.Hide()

	test.Tap(m.settings)
	assert.True(t, f.ui.settings.autoAccept.Checked)
	f.ui.settings.dialog.Hide()

	// and without files there is no such setting
	g := newFixture(t, true)
	g.connected()
	test.Tap(g.ui.main.settings)
	assert.Nil(t, g.ui.settings.autoAccept)
}

// The real engine's decision: only with the setting, from a verified
// contact, a PNG, JPEG or GIF under 10 MB.
func TestAutoAccept_OnlySmallPicturesFromVerifiedContacts(t *testing.T) {
	on := profile.Settings{AutoAcceptPictures: true}
	pic := transfer.Transfer{MediaType: "image/png", Size: 10*mb - 1}
	for _, tc := range []struct {
		name     string
		st       profile.Settings
		verified bool
		t        transfer.Transfer
		want     bool
	}{
		{"png under 10 MB", on, true, pic, true},
		{"jpeg", on, true, transfer.Transfer{MediaType: "image/jpeg", Size: 1}, true},
		{"gif, upper case, with a parameter", on, true, transfer.Transfer{MediaType: "Image/GIF; x=y", Size: 5}, true},
		{"setting off", profile.Settings{}, true, pic, false},
		{"not verified", on, false, pic, false},
		{"10 MB", on, true, transfer.Transfer{MediaType: "image/png", Size: 10 * mb}, false},
		{"svg", on, true, transfer.Transfer{MediaType: "image/svg+xml", Size: 5}, false},
		{"not a picture", on, true, transfer.Transfer{MediaType: "application/pdf", Size: 5}, false},
		{"ours", on, true, transfer.Transfer{MediaType: "image/png", Size: 5, Outgoing: true}, false},
		{"bad media type", on, true, transfer.Transfer{MediaType: "image/png;;", Size: 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, autoAccept(tc.st, tc.verified, tc.t))
		})
	}
}

// The attach button asks for a file and sends it to the contact shown;
// files dropped on the window go there too; both show at once and dial
// an offline contact.
func TestFiles_AttachButtonAndDropSendThroughSendFile(t *testing.T) {
	f := newFixture(t, true)
	files := f.withFiles()
	m := f.unlock()
	f.selectContact(bobFP)
	require.Equal(t, peerOffline, m.selected.state, "an offline contact: the file waits")
	require.NotNil(t, m.attach)
	assert.False(t, m.attach.Disabled())

	f.openPath = "/home/alice/report.pdf"
	test.Tap(m.attach)
	assert.Equal(t, []string{bobFP + " /home/alice/report.pdf"}, files.got(&files.sent))
	id := files.List(bobFP)[0].ID
	v := fileBubble(t, m.thread(), id)
	assert.Contains(t, fileText(v), "report.pdf")
	assert.Contains(t, fileText(v), "Preparing…")
	assert.True(t, bubbleWith(t, m.thread(), fileRowID(id)).r.outgoing, "on the right: ours")
	assert.Equal(t, m.input, f.win.Canvas().Focused(), "the keyboard goes back to the input")
	assert.Equal(t, []string{bobFP, bobFP}, f.ctrl.got(&f.ctrl.reconnects), "opening Bob dialed him, sending dials again")

	files.change(bobFP, id, func(t *transfer.Transfer) { t.State = transfer.StateWaiting })
	assert.Contains(t, fileText(fileBubble(t, m.thread(), id)), "Offered when Bob is online")
	assert.Equal(t, []string{"Cancel"}, fileButtons(fileBubble(t, m.thread(), id)))

	m.dropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI("/tmp/a.txt"), storage.NewFileURI("/tmp/b.png")})
	assert.Equal(t, []string{bobFP + " /home/alice/report.pdf", bobFP + " /tmp/a.txt", bobFP + " /tmp/b.png"}, files.got(&files.sent))
	assert.Len(t, m.thread().rows, 3+3, "three messages and three files")

	files.mu.Lock()
	files.sendErr = filexfer.ErrEmptyFile
	files.mu.Unlock()
	m.dropped(fyne.Position{}, []fyne.URI{storage.NewFileURI("/tmp/empty")})
	assert.Contains(t, dialogText(t, f.win), "Could not send empty: the file is empty.")
}

// Without files (a build or run without them) there is no attach
// button; a file store that fails to open is said once, in words, and
// messages work.
func TestFiles_WithoutFilesTheAppSaysWhyOnce(t *testing.T) {
	f := newFixture(t, true)
	m := f.connected()
	assert.Nil(t, m.attach, "no files: no attach button")
	assert.Nil(t, f.win.Canvas().Overlays().Top())

	g := newFixture(t, true)
	g.ui.backend.Files = func(Vault) (Files, error) { return nil, errors.New("transfer: not built yet") }
	gm := g.unlock()
	assert.Nil(t, gm.attach)
	assert.Nil(t, gm.files)
	assert.Contains(t, dialogText(t, g.win), "Files cannot be sent or received for now")
	assert.NotContains(t, dialogText(t, g.win), "not built yet", "the error only behind Details")
}

// Transfers take their place among the messages by their time, when a
// thread is read and when an event brings an older one.
func TestFiles_TransfersAreInTheThreadByTime(t *testing.T) {
	f := newFixture(t, true)
	files := f.withFiles()
	files.put(transfer.Transfer{ID: "o-1", Contact: bobFP, Outgoing: true, Name: "early.txt", Size: 10,
		Time: testTime.Add(30 * time.Second), State: transfer.StateDone})
	files.put(transfer.Transfer{ID: "i-2", Contact: bobFP, Name: "late.png", MediaType: "image/png", Size: 10,
		Time: testTime.Add(3 * time.Minute), State: transfer.StateDone, Picture: true})
	m := f.unlock()
	f.selectContact(bobFP)
	var order []string
	for _, r := range m.thread().rows {
		order = append(order, r.id)
	}
	assert.Equal(t, []string{"a", fileRowID("o-1"), "b", "c", fileRowID("i-2")}, order)
	capture(f) // lay the list out again, as a real window does
	assert.Equal(t, []string{"Save as…"}, fileButtons(fileBubble(t, m.thread(), "i-2")))
	assert.True(t, fileBubble(t, m.thread(), "i-2").picture.Visible(), "a picture read with the thread shows its thumbnail")
	words, _ := fileStateWords(m.thread().byID[fileRowID("o-1")].file, "Bob")
	assert.Equal(t, "Delivered", words)

	clock = func() time.Time { return testTime.Add(90 * time.Second) }
	t.Cleanup(func() { clock = time.Now })
	files.offer(bobFP, "i-3", "middle.txt", "text/plain", 5)
	order = nil
	for _, r := range m.thread().rows {
		order = append(order, r.id)
	}
	assert.Equal(t, []string{"a", fileRowID("o-1"), "b", fileRowID("i-3"), "c", fileRowID("i-2")}, order)
}

// Deleting a contact and its history deletes its files too.
func TestFiles_DeletingAContactDeletesItsFiles(t *testing.T) {
	f := newFixture(t, true)
	files := f.withFiles()
	m := f.unlock()
	f.selectContact(carolFP)
	m.deletePeer(m.peers[carolFP])
	assert.Equal(t, []string{carolFP}, f.vault.deleted)
	assert.Equal(t, []string{carolFP}, files.got(&files.deleted))
}

// What a file bubble says of each state, and why a transfer failed, in
// words; the partner's own reason quoted.
func TestFileWords(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 999: "999 bytes", 1000: "1 kB", 4_200_000: "4.2 MB",
		12_345_678: "12.3 MB", 200 * mb: "200 MB", 999_999_999: "1 GB", 4_294_967_296: "4.3 GB"} {
		assert.Equal(t, want, humanSize(n), "%d", n)
	}
	for d, want := range map[time.Duration]string{0: "", time.Second: "1 s left", 45 * time.Second: "45 s left",
		59*time.Second + time.Millisecond: "1 min left", 150 * time.Second: "3 min left", 65 * time.Minute: "1 h 5 min left"} {
		assert.Equal(t, want, timeLeft(d), "%v", d)
	}
	failed := func(out bool, err error) string {
		w, bad := fileStateWords(transfer.Transfer{Outgoing: out, State: transfer.StateFailed, Err: err}, "Bob")
		assert.True(t, bad)
		return w
	}
	assert.Equal(t, "Bob declined the file.", failed(true, &filexfer.PartnerError{Code: filexfer.CodeDeclined}))
	assert.Equal(t, "You declined the file.", failed(false, filexfer.ErrDeclined))
	assert.Equal(t, "The file did not match what was announced and was discarded.", failed(false, filexfer.ErrHashMismatch))
	assert.Equal(t, "The file did not match what was announced and was discarded.", failed(true, &filexfer.PartnerError{Code: filexfer.CodeHashMismatch}))
	assert.Equal(t, "Bob's computer could not store the file.", failed(true, &filexfer.PartnerError{Code: filexfer.CodeStorage}))
	assert.Equal(t, "The file could not be stored on this computer. Is the disk full?", failed(false, filexfer.ErrStorage))
	assert.Equal(t, "The transfer broke the rules of SecureChat's protocol and was stopped.", failed(false, filexfer.ErrOutOfOrder))
	assert.Equal(t, "Bob has too many of your files waiting for an answer. Send this one again once Bob has answered some.",
		failed(true, &filexfer.PartnerError{Code: filexfer.CodeBusy, Reason: "too many offers are waiting for an answer"}))
	hostile := failed(true, &filexfer.PartnerError{Code: filexfer.CodeCancelled, Reason: "evil\u202egnp.exe\n**x**"})
	assert.True(t, strings.HasPrefix(hostile, `Bob cancelled the transfer. Bob said: "evil\u202egnp.exe\n**x**"`), hostile)
	assert.NotContains(t, hostile, "\u202e", "escaped, never interpreted")
}

// Fyne's clipboard holds text only (no picture data in 2.8): files copied
// in a file manager come as their file URIs, and pasting them into the
// input offers to send them; any other text pastes as text.
func TestFiles_PastingCopiedFilesOffersToSendThem(t *testing.T) {
	f, files, m := filesApp(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b c.png")
	require.NoError(t, os.WriteFile(a, []byte("a"), 0o600))
	require.NoError(t, os.WriteFile(b, []byte("b"), 0o600))
	clip := f.app.Clipboard()
	paste := func() { m.input.TypedShortcut(&fyne.ShortcutPaste{Clipboard: clip}) }

	clip.SetContent("x-special/nautilus-clipboard\ncopy\n" + storage.NewFileURI(a).String() + "\n" + storage.NewFileURI(b).String() + "\n")
	paste()
	assert.Contains(t, dialogText(t, f.win), "Send 2 files to Bob?")
	test.Tap(topDialogButton(t, f.win, "Send"))
	assert.Equal(t, []string{bobFP + " " + a, bobFP + " " + b}, files.got(&files.sent))
	assert.Empty(t, m.input.Text)

	clip.SetContent(storage.NewFileURI(a).String())
	paste()
	test.Tap(topDialogButton(t, f.win, "Paste as text"))
	assert.Equal(t, storage.NewFileURI(a).String(), m.input.Text)
	assert.Len(t, files.got(&files.sent), 2)

	m.input.SetText("")
	for _, text := range []string{"hello", storage.NewFileURI(filepath.Join(dir, "gone.txt")).String(), storage.NewFileURI(dir).String(), a} {
		clip.SetContent(text)
		paste()
		assert.Equal(t, text, m.input.Text, "pasted as text: %q", text)
		m.input.SetText("")
	}
	assert.Len(t, files.got(&files.sent), 2)
}

// A paste of no text looks for a picture in the system's clipboard (Fyne's
// holds text only): shown, and sent once the user says so.
func TestFiles_PastingAPictureShowsItAndSendsIt(t *testing.T) {
	f, files, m := filesApp(t)
	var img bytes.Buffer
	require.NoError(t, png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 300, 200))))
	pic := clipimg.Picture{Data: img.Bytes(), MediaType: "image/png"}
	var readErr error
	f.ui.clipPicture = func(context.Context) (clipimg.Picture, error) { return pic, readErr }
	clip := f.app.Clipboard()
	clip.SetContent("")
	paste := func() { m.input.TypedShortcut(&fyne.ShortcutPaste{Clipboard: clip}) }

	paste()
	text := dialogText(t, f.win)
	assert.Contains(t, text, "Send this picture (PNG, "+humanSize(int64(img.Len()))+") to Bob?")
	var shown *canvas.Image
	for _, o := range test.LaidOutObjects(f.win.Canvas().Overlays().Top()) {
		if i, ok := o.(*canvas.Image); ok && i.Resource == nil && i.Image != nil { // not a button's icon
			shown = i
		}
	}
	require.NotNil(t, shown, "the picture is shown before it is sent")
	assert.LessOrEqual(t, max(shown.Image.Bounds().Dx(), shown.Image.Bounds().Dy()), thumbSide)
	test.Tap(topDialogButton(t, f.win, "Send"))
	require.Len(t, files.got(&files.readers), 1)
	assert.Regexp(t, `^`+bobFP+` "Pasted picture \d{4}-\d\d-\d\d \d\d\.\d\d\.\d\d\.png" image/png `+fmt.Sprintf("%x", img.Bytes())+`$`, files.got(&files.readers)[0])
	assert.Empty(t, m.input.Text)

	// Cancel sends nothing; no picture does nothing; text pastes as text.
	paste()
	test.Tap(topDialogButton(t, f.win, "Cancel"))
	readErr = clipimg.ErrNoPicture
	paste()
	assert.Nil(t, f.win.Canvas().Overlays().Top(), "nothing to ask")
	clip.SetContent("hello")
	paste()
	assert.Equal(t, "hello", m.input.Text)
	assert.Len(t, files.got(&files.readers), 1)

	// Where pictures cannot be read, the user is told what would help.
	m.input.SetText("")
	clip.SetContent("")
	readErr = fmt.Errorf("%w: install wl-clipboard (Wayland) or xclip (X11)", clipimg.ErrUnsupported)
	paste()
	assert.Contains(t, m.hint.Text, "drop the picture's file on the window")
	readErr = clipimg.ErrTooLarge
	paste()
	assert.Contains(t, m.hint.Text, "larger than 64 MiB")
}

// A picture the app cannot decode is offered without being shown.
func TestFiles_APastedPictureThatDoesNotDecodeIsNotShown(t *testing.T) {
	f, files, m := filesApp(t)
	f.ui.clipPicture = func(context.Context) (clipimg.Picture, error) {
		return clipimg.Picture{Data: []byte("\x89PNG\r\n\x1a\n broken"), MediaType: "image/png"}, nil
	}
	f.app.Clipboard().SetContent("")
	m.input.TypedShortcut(&fyne.ShortcutPaste{Clipboard: f.app.Clipboard()})
	assert.Contains(t, dialogText(t, f.win), "Send this picture (PNG, 15 bytes) to Bob?")
	for _, o := range test.LaidOutObjects(f.win.Canvas().Overlays().Top()) {
		if i, ok := o.(*canvas.Image); ok && i.Resource == nil {
			assert.Nil(t, i.Image, "no picture shown") // the buttons' icons have resources
		}
	}
	test.Tap(topDialogButton(t, f.win, "Send"))
	assert.Len(t, files.got(&files.readers), 1)
}
