package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/session"
)

func bigTranscript(n int) *Thread {
	t := &Thread{Contact: bobFP}
	t.Messages = make([]ThreadMessage, n)
	for i := range t.Messages {
		text := fmt.Sprintf("message %d", i)
		if i%10 == 0 {
			text += ": a longer one that wraps over more than one line of the bubble, as real chats have now and then"
		}
		t.Messages[i] = ThreadMessage{StoredMessage: StoredMessage{ID: fmt.Sprintf("%032x", i), Outgoing: i%2 == 0,
			Time: testTime.Add(time.Duration(i) * time.Second), Text: text, Status: "delivered"}, Conversation: "big"}
	}
	return t
}

// openIn lays a message list out in a window, as a thread opens.
func openIn(tb testing.TB, t *Thread, focus string) (*messageList, fyne.Window) {
	m := newMessageList(nil)
	w := test.NewWindow(m)
	w.Resize(fyne.NewSize(900, 600))
	rows, at := threadRows(t, "Alice", "Bob", focus, nil)
	m.setRows(rows, at)
	return m, w
}

func TestMessageList_LargeConversationLaysOutOneWindow(t *testing.T) {
	test.NewTempApp(t)
	tr := bigTranscript(100_000)
	start := time.Now()
	m, w := openIn(t, tr, "")
	defer w.Close()
	t.Logf("opened 100,000 messages in %v", time.Since(start))

	assert.Equal(t, pageSize+1, m.list.Length(), "a page and the \"earlier\" row")
	assert.True(t, m.atBottom(), "it opens at the newest message")
	texts := shownTexts(m)
	assert.True(t, containsText(texts, "message 99999"), "%q", texts)

	m.showEarlier()
	assert.Equal(t, 2*pageSize+1, m.list.Length())
	assert.True(t, containsText(shownTexts(m), "message 99799"), "the view stays where it was")
}

func TestMessageList_OpensAtSearchHit(t *testing.T) {
	test.NewTempApp(t)
	tr := bigTranscript(10_000)
	m, w := openIn(t, tr, fmt.Sprintf("%032x", 1234))
	defer w.Close()
	require.Equal(t, fmt.Sprintf("%032x", 1234), m.marked)
	assert.True(t, m.hasEarlier() && m.hasLater())
	texts := shownTexts(m)
	assert.True(t, containsText(texts, "message 1234"), "%q", texts)

	m.showLater()
	assert.Equal(t, m.first+2*pageSize, m.last)
}

func TestMessageList_WindowStaysSmallWhileChatting(t *testing.T) {
	test.NewTempApp(t)
	m := newMessageList(nil)
	w := test.NewWindow(m)
	defer w.Close()
	w.Resize(fyne.NewSize(600, 400))
	for i := 0; i < 3*pageSize; i++ {
		m.add(&row{kind: rowMessage, id: fmt.Sprint(i), from: "Bob", text: fmt.Sprint("line ", i)})
	}
	assert.LessOrEqual(t, m.last-m.first, 2*pageSize)
	assert.True(t, m.atBottom())
	assert.True(t, containsText(shownTexts(m), fmt.Sprint("line ", 3*pageSize-1)))
}

// BenchmarkOpenLargeConversation opens a 100,000-message conversation in the
// history view: turning the transcript into rows, measuring the window of
// rows and laying the list out.
func BenchmarkOpenLargeConversation(b *testing.B) {
	test.NewTempApp(b)
	tr := bigTranscript(100_000)
	b.ResetTimer()
	for b.Loop() {
		_, w := openIn(b, tr, "")
		w.Close()
	}
}

// BenchmarkScrollLargeConversation scrolls through the laid-out window of a
// 100,000-message conversation.
func BenchmarkScrollLargeConversation(b *testing.B) {
	test.NewTempApp(b)
	m, w := openIn(b, bigTranscript(100_000), "")
	defer w.Close()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.list.ScrollToOffset(float32(i%50) * 100)
	}
}

func TestBubble_HighlightDoesNotNarrowTheBubble(t *testing.T) {
	test.NewTempApp(t)
	r := &row{kind: rowMessage, from: "Bob", text: "Hi Alice! Did the parcel arrive?"}
	plain, marked := newBubble(nil), newBubble(nil)
	plain.r, marked.r, marked.highlight = r, r, "parcel"
	plain.CreateRenderer()
	marked.CreateRenderer()
	plain.rend.update()
	marked.rend.update()
	p, m := plain.rend.naturalWidth(), marked.rend.naturalWidth()
	assert.InDelta(t, p, m, 8, "a highlighted term continues its line")
	assert.Equal(t, plain.heightFor(600), marked.heightFor(600), "and does not wrap it")
}

func TestBubble_LongWordWrapsInsideTheBubble(t *testing.T) {
	test.NewTempApp(t)
	long := "https://example.org/" + strings.Repeat("a1b2c3d4", 40)
	b := newBubble(nil)
	b.r = &row{kind: rowMessage, from: "Bob", text: long}
	b.CreateRenderer()
	b.rend.update()
	one := newBubble(nil)
	one.r = &row{kind: rowMessage, from: "Bob", text: "short"}
	g := b.rend.geometry(600)
	assert.LessOrEqual(t, g.bgSize.Width, float32(600*bubbleMaxFraction))
	assert.Greater(t, g.height, one.heightFor(600)+20, "the long word takes several lines")
}

// A glyph such as ✓ is missing from some fonts (the headless test font
// among them, where it showed as "�delivered"): the state is a theme icon.
func TestBubble_StatusIsDrawnWithThemeIcons(t *testing.T) {
	for _, tc := range []struct {
		status   msgStatus
		readOnly bool
		icon     fyne.Resource
		text     string
	}{
		{statusSending, false, theme.HistoryIcon(), "sending…"},
		{statusSending, true, theme.QuestionIcon(), "not acknowledged"},
		{statusDelivered, false, theme.ConfirmIcon(), "delivered"},
		{statusFailed, false, theme.ErrorIcon(), "not delivered: connection lost"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			test.NewTempApp(t)
			b := newBubble(nil)
			b.r = &row{kind: rowMessage, outgoing: true, from: "Alice", text: "hi",
				status: tc.status, reason: "connection lost", readOnly: tc.readOnly}
			w := test.NewTempWindow(t, b)
			w.Resize(fyne.NewSize(600, 200))

			var icons, texts []string
			for _, o := range test.LaidOutObjects(b) {
				switch o := o.(type) {
				case *widget.Icon:
					if o.Visible() && o.Resource != nil {
						icons = append(icons, o.Resource.Name())
					}
				case *widget.RichText:
					if o.Visible() {
						texts = append(texts, o.String())
					}
				}
			}
			require.Len(t, icons, 1, "one state icon")
			// theme icons are named colour_file: the file tells the icon
			_, want, _ := strings.Cut(tc.icon.Name(), "_")
			_, got, _ := strings.Cut(icons[0], "_")
			assert.Equal(t, want, got)
			assert.True(t, containsText(texts, tc.text), "%q", texts)
			assert.False(t, containsText(texts, "✓"), "no glyph the font may lack: %q", texts)
		})
	}
}

// Messages from one sender that follow within a few minutes share one
// header; every day starts with a date line.
func TestMessageList_GroupsSenderAndSeparatesDays(t *testing.T) {
	test.NewTempApp(t)
	m := newMessageList(nil)
	w := test.NewWindow(m)
	defer w.Close()
	w.Resize(fyne.NewSize(700, 1400))

	now := time.Now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.Local)
	yesterday := today.AddDate(0, 0, -1)
	older := today.AddDate(0, 0, -9)
	msg := func(id string, out bool, at time.Time, text string) *row {
		from := "Bob"
		if out {
			from = "Alice"
		}
		return &row{kind: rowMessage, id: id, outgoing: out, from: from, time: at, text: text}
	}
	m.setRows([]*row{
		msg("o1", false, older, "an old one"),
		msg("y1", false, yesterday, "first yesterday"),
		msg("y2", false, yesterday.Add(2*time.Minute), "second, grouped"),
		msg("y3", false, yesterday.Add(20*time.Minute), "later: a new header"),
		msg("y4", true, yesterday.Add(21*time.Minute), "my reply"),
		msg("y5", true, yesterday.Add(22*time.Minute), "my second, grouped"),
	}, -1)
	m.add(msg("t1", true, today, "the next day: a new header after the date line"))
	m.add(msg("t2", true, today.Add(time.Minute), "grouped again"))
	m.add(&row{kind: rowSystem, text: "Partner has disconnected", time: today.Add(2 * time.Minute)})
	m.add(msg("t3", false, today.Add(3*time.Minute), "after a note: a header"))

	hm := func(t time.Time) string { return t.Format("15:04") }
	want := []string{
		"—— " + older.Format("Monday 2 January") + " ——",
		"Bob  ·  " + hm(older) + "an old one\n",
		"—— Yesterday ——",
		"Bob  ·  " + hm(yesterday) + "first yesterday\n",
		"second, grouped\n",
		"Bob  ·  " + hm(yesterday.Add(20*time.Minute)) + "later: a new header\n",
		"You  ·  " + hm(yesterday.Add(21*time.Minute)) + "my reply\n",
		"my second, grouped\n",
		"—— Today ——",
		"You  ·  " + hm(today) + "the next day: a new header after the date line\n",
		"grouped again\n",
		"Partner has disconnected\n",
		"Bob  ·  " + hm(today.Add(3*time.Minute)) + "after a note: a header\n",
	}
	if older.Year() != now.Year() {
		want[0] = "—— " + older.Format("Monday 2 January 2006") + " ——"
	}
	assert.Equal(t, want, shownTexts(m))
}

func TestDayLabel(t *testing.T) {
	now := time.Date(2026, 3, 12, 0, 30, 0, 0, time.Local)
	assert.Equal(t, "Today", dayLabel(now.Add(-20*time.Minute), now.Add(23*time.Hour)))
	assert.Equal(t, "Yesterday", dayLabel(now.Add(-time.Hour), now))
	assert.Equal(t, "Tuesday 10 March", dayLabel(now.AddDate(0, 0, -2), now))
	assert.Equal(t, "Wednesday 31 December 2025", dayLabel(time.Date(2025, 12, 31, 9, 0, 0, 0, time.Local), now))
}

// Ordinary notes are plain text at the normal size; a disconnect is shown
// in the warning colour and a changed key in the error colour, both with
// an icon.
func TestChat_SystemNotesReadableAndWarningsProminent(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.selectContact(bobFP)
	link := session.LinkID(7)
	f.dials(link, bobFP)
	f.ctrl.emit(session.Request{Link: link, Partner: partner(session.TrustChanged)})
	test.Tap(topDialogButton(t, f.win, "Trust new key"))
	f.ctrl.emit(session.Connected{Link: link, Partner: partner(session.TrustKnown)})
	f.ctrl.emit(session.Ended{Link: link, Contact: bobFP, Connected: true, Reason: session.EndPartnerLeft})

	seen := map[string]bool{}
	for _, o := range test.LaidOutObjects(c.thread()) {
		b, ok := o.(*bubble)
		if !ok || !b.Visible() || b.r.kind != rowSystem {
			continue
		}
		ts := b.rend.text.Segments[0].(*widget.TextSegment)
		assert.Empty(t, ts.Style.SizeName, "%q: normal size", ts.Text)
		assert.False(t, ts.Style.TextStyle.Italic, "%q: not italic", ts.Text)
		switch {
		case strings.HasPrefix(ts.Text, "Connected to Bob"):
			seen["info"] = true
			assert.Equal(t, theme.ColorNameForeground, ts.Style.ColorName, "ordinary notes are not faint")
			assert.False(t, b.rend.statusIcon.Visible())
			assert.False(t, b.rend.bg.Visible())
		case ts.Text == "Bob left the chat.":
			seen["warning"] = true
			assert.Equal(t, theme.ColorNameWarning, ts.Style.ColorName)
			assert.True(t, b.rend.statusIcon.Visible(), "with an icon")
			assert.True(t, b.rend.bg.Visible(), "on a band")
		case strings.HasPrefix(ts.Text, "Warning: another key answered for Bob"):
			seen["danger"] = true
			assert.Equal(t, theme.ColorNameError, ts.Style.ColorName)
			assert.True(t, ts.Style.TextStyle.Bold)
			assert.True(t, b.rend.statusIcon.Visible(), "with an icon")
			assert.Contains(t, b.rend.statusIcon.Resource.Name(), "error")
		}
	}
	assert.Equal(t, map[string]bool{"info": true, "warning": true, "danger": true}, seen)
}
