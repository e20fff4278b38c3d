package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/session"
)

func TestFindLinks(t *testing.T) {
	for text, want := range map[string][]string{
		"see https://example.com/a?b=1.":                      {"https://example.com/a?b=1"},
		"(http://x.org/p), and HTTPS://Y.org!":                {"http://x.org/p", "https://Y.org"},
		"https://en.wikipedia.org/wiki/Go_(game) is fun":      {"https://en.wikipedia.org/wiki/Go_(game)"},
		"no links: ftp://x.org, javascript:alert(1), http://": nil,
	} {
		_, urls := findLinks(text)
		var got []string
		for _, u := range urls {
			got = append(got, u.String())
		}
		assert.Equal(t, want, got, text)
	}
}

// bubbleWith finds the laid-out bubble of the message with id.
func bubbleWith(t *testing.T, m *messageList, id string) *bubble {
	t.Helper()
	for _, o := range test.LaidOutObjects(m) {
		if b, ok := o.(*bubble); ok && b.Visible() && b.r.id == id {
			return b
		}
	}
	t.Fatalf("no bubble for %s", id)
	return nil
}

func linkIn(t *testing.T, b *bubble) *widget.Hyperlink {
	t.Helper()
	for _, o := range test.LaidOutObjects(b) {
		if h, ok := o.(*widget.Hyperlink); ok && h.Visible() {
			return h
		}
	}
	t.Fatal("the message shows no link")
	return nil
}

// tapLink clicks on the middle of the link's text.
func tapLink(l *widget.Hyperlink) {
	test.TapAt(l, fyne.NewPos(l.Size().Width/2, l.Size().Height/2))
}

// A link in the partner's message is shown as a link; tapping it asks
// first and opens it in the browser only when the user agrees.
func TestChat_LinkOpensAfterConfirmation(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "l1", From: "Bob", Text: "the tracking page: https://parcels.example/track?id=42. Thanks!", Time: time.Now()}})

	b := bubbleWith(t, c.thread(), "l1")
	assert.Contains(t, b.rend.text.String(), "the tracking page: https://parcels.example/track?id=42. Thanks!",
		"the text reads as before")
	link := linkIn(t, b)
	require.Equal(t, "https://parcels.example/track?id=42", link.URL.String())

	tapLink(link)
	assert.Empty(t, f.opened, "nothing opens on the tap alone")
	top := f.win.Canvas().Overlays().Top()
	require.NotNil(t, top, "a confirmation is shown")
	var asked bool
	for _, o := range test.LaidOutObjects(top) {
		if l, ok := o.(*widget.Label); ok && l.Text == "Open https://parcels.example/track?id=42 in your browser?" {
			asked = true
		}
	}
	assert.True(t, asked, "the confirmation names the whole address")
	test.Tap(topDialogButton(t, f.win, "Cancel"))
	assert.Empty(t, f.opened, "Cancel opens nothing")
	assert.Equal(t, c.input, f.win.Canvas().Focused(), "the input has the focus again")

	tapLink(linkIn(t, bubbleWith(t, c.thread(), "l1")))
	test.Tap(topDialogButton(t, f.win, "Open"))
	assert.Equal(t, []string{"https://parcels.example/track?id=42"}, f.opened)
	assert.Equal(t, c.input, f.win.Canvas().Focused())
}

// A right click on a message offers to copy it, and its links.
func TestChat_MessageCanBeCopied(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "k1", From: "Bob", Text: "code 4711\nsee http://example.org/x", Time: time.Now()}})

	b := bubbleWith(t, c.thread(), "k1")
	test.TapSecondary(b)
	require.NotNil(t, f.win.Canvas().Overlays().Top(), "a right click opens a menu")
	require.NotNil(t, b.menu)
	f.win.Canvas().Overlays().Top().Hide() // closed without a choice
	assert.Equal(t, c.input, f.win.Canvas().Focused(), "the input keeps the focus")
	test.TapSecondary(b)
	var labels []string
	for _, it := range b.menu.Items {
		labels = append(labels, it.Label)
	}
	assert.Equal(t, []string{"Copy message", "Copy link http://example.org/x"}, labels)

	f.win.Canvas().Overlays().Top().Hide()
	b.menu.Items[0].Action()
	assert.Equal(t, "code 4711\nsee http://example.org/x", f.app.Clipboard().Content())
	assert.Equal(t, c.input, f.win.Canvas().Focused(), "the input has the focus again")

	b.menu.Items[1].Action()
	assert.Equal(t, "http://example.org/x", f.app.Clipboard().Content())
}
