package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tor"
	"github.com/securechat/securechat/tormode"
)

// The golden images live in testdata/; when a change is intended, the
// failing test writes the new image to testdata/failed/ to review and copy.

// fixClock makes the test's today testTime's day, a minute before it.
func fixClock(t *testing.T) {
	clock = func() time.Time { return testTime.Add(-time.Minute) }
	t.Cleanup(func() { clock = time.Now })
}

func TestGolden_ChatWindow(t *testing.T) {
	fixClock(t)
	f := newFixture(t, true)
	c := f.connected()
	at := func(min int) time.Time { return testTime.Add(time.Duration(min) * time.Minute) }
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "i1", From: "Bob", Text: "Hi Alice! Did the parcel arrive?", Time: at(0),
		Wire: []byte{0, 0, 0, 0x4b, 0x17, 1, 2, 3}}})
	c.input.SetText("Yes, this morning. Thank you!\nIt was well packed.")
	test.Tap(c.send)
	f.queued(bobFP, "m1", "Yes, this morning. Thank you!\nIt was well packed.")
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "m1", Outgoing: true, From: "Alice", Text: "Yes, this morning. Thank you!\nIt was well packed.", Time: at(1)}})
	f.ctrl.emit(session.Delivered{Contact: bobFP, ID: "m1"})
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "i2", From: "Bob", Time: at(2),
		Text: "Great. A longer message, to show how the history pane wraps text that does not fit on one line of the bubble, which is at most about three quarters of the pane wide."}})
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "i3", From: "Bob", Time: at(2), Text: "A second one right after: no header of its own."}})
	c.input.SetText("See you on Friday")
	test.Tap(c.send)
	f.queued(bobFP, "m2", "See you on Friday")
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "m2", Outgoing: true, From: "Alice", Text: "See you on Friday", Time: at(3)}})
	capture(f)

	test.AssertImageMatches(t, "chat_window.png", f.win.Canvas().Capture())
}

func TestGolden_HostOrConnect(t *testing.T) {
	fixClock(t)
	f := newFixture(t, true)
	s := f.newChat()
	s.connectPort.SetText("99999")
	test.Tap(s.connButton)
	s.addr.SetText("192.168.1.20")
	test.Tap(s.connButton) // the bad port shows inline
	capture(f)

	test.AssertImageMatches(t, "host_or_connect.png", f.win.Canvas().Capture())
}

// capture prepares the window for a stable image: no blinking cursor, and
// a fresh layout (the test canvas, unlike a real window, does not lay the
// content out again when a minimum size changes).
func capture(f *fixture) {
	f.win.Canvas().Unfocus()
	size := f.win.Canvas().Size()
	f.win.Resize(size.Add(fyne.NewSize(1, 1)))
	f.win.Resize(size)
}

func TestGolden_Settings(t *testing.T) {
	fixClock(t)
	f := newFixture(t, true)
	c := f.connected()
	test.Tap(c.settings)
	capture(f)

	test.AssertImageMatches(t, "settings.png", f.win.Canvas().Capture())
}

// Tor mode connecting (the sidebar's bar) with its settings open.
func TestGolden_TorSettings(t *testing.T) {
	fixClock(t)
	f := newFixture(t, true)
	f.vault.settings.Tor = true
	c := f.connected()
	f.onlyTor().report(tormode.Status{State: tormode.Bootstrapping, Progress: tor.Progress{Percent: 45, Summary: "Loading relay descriptors"}})
	test.Tap(c.settings)
	f.ui.settings.tabs.SelectIndex(1)
	capture(f)

	test.AssertImageMatches(t, "tor_settings.png", f.win.Canvas().Capture())
}
