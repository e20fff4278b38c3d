package ui

import (
	"fmt"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// historyWindow is the history browser: past conversations newest first,
// search across all of them, and one opened read-only in the bubble view.
type historyWindow struct {
	u   *UI
	win fyne.Window

	search  *widget.Entry
	clear   *widget.Button
	list    *widget.List
	info    *widget.Label
	title   *widget.Label
	view    *messageList
	nothing *widget.Label

	convs []Summary
	hits  []Hit
	term  string // the search shown, "" for the list of conversations
	open  string // id of the conversation shown
}

// showHistory opens the history browser, or brings it to the front.
func (u *UI) showHistory() {
	if u.history != nil {
		u.history.win.RequestFocus()
		if u.history.term == "" {
			u.history.reload() // the chat going on may have added one
		}
		return
	}
	h := newHistoryWindow(u)
	u.history = h
	h.win.SetOnClosed(func() {
		u.history = nil
		u.focusChat()
	})
	h.win.Show()
	search := h.search
	fyne.Do(func() { h.win.Canvas().Focus(search) })
	h.reload()
}

func newHistoryWindow(u *UI) *historyWindow {
	h := &historyWindow{u: u, win: u.app.NewWindow("SecureChat — Past chats")}
	h.search = widget.NewEntry()
	h.search.SetPlaceHolder("Search all conversations")
	h.search.OnSubmitted = h.runSearch
	h.search.OnChanged = func(s string) {
		if strings.TrimSpace(s) == "" && h.term != "" {
			h.runSearch("")
		}
	}
	h.clear = widget.NewButtonWithIcon("", theme.SearchIcon(), func() { h.runSearch(h.search.Text) })
	h.info = widget.NewLabel("")
	h.info.SizeName = theme.SizeNameCaptionText

	h.list = widget.NewList(h.length, func() fyne.CanvasObject {
		top := widget.NewLabel("")
		top.TextStyle.Bold = true
		top.Truncation = fyne.TextTruncateEllipsis
		sub := widget.NewRichText()
		sub.Truncation = fyne.TextTruncateEllipsis
		return container.NewVBox(top, sub)
	}, h.updateItem)
	h.list.OnSelected = h.selected

	h.title = widget.NewLabel("Choose a conversation on the left.")
	h.title.TextStyle.Bold = true
	h.title.Wrapping = fyne.TextWrapWord
	h.view = newMessageList(nil)
	h.view.openURL = func(l *url.URL) error { return u.openURL(l) }
	h.view.window = h.win
	h.nothing = widget.NewLabel("")
	h.nothing.Alignment = fyne.TextAlignCenter
	h.nothing.Hide()

	left := container.NewBorder(
		container.NewVBox(container.NewBorder(nil, nil, nil, h.clear, h.search), h.info),
		nil, nil, nil, container.NewStack(h.list, container.NewCenter(h.nothing)))
	right := container.NewBorder(container.NewVBox(h.title, widget.NewSeparator()), nil, nil, nil, h.view)
	split := container.NewHSplit(left, right)
	split.Offset = 0.36
	h.win.SetContent(split)
	h.win.Resize(fyne.NewSize(940, 620))
	return h
}

func (h *historyWindow) length() int {
	if h.term != "" {
		return len(h.hits)
	}
	return len(h.convs)
}

func describe(s Summary) string {
	when := formatTime(s.Start)
	n := plural(s.Messages, "message", "messages")
	how := "you connected"
	if s.Role == "host" {
		how = "you hosted"
	}
	return when + "  ·  " + n + "  ·  " + how
}

func (h *historyWindow) updateItem(id widget.ListItemID, o fyne.CanvasObject) {
	box := o.(*fyne.Container)
	top, sub := box.Objects[0].(*widget.Label), box.Objects[1].(*widget.RichText)
	caption := widget.RichTextStyle{ColorName: theme.ColorNamePlaceHolder, SizeName: theme.SizeNameCaptionText, Inline: true}
	if h.term != "" {
		if id >= len(h.hits) {
			return
		}
		hit := h.hits[id]
		top.SetText(hit.Conversation.Partner + "  ·  " + formatTime(hit.Message.Time))
		segs := highlightSegments(strings.ReplaceAll(snippet(hit.Message.Text, h.term, 60), "\n", " "), h.term)
		for _, s := range segs {
			if ts, ok := s.(*widget.TextSegment); ok {
				ts.Style.Inline = true
			}
		}
		sub.Segments = segs
		sub.Refresh()
		return
	}
	if id >= len(h.convs) {
		return
	}
	s := h.convs[id]
	top.SetText(s.Partner)
	sub.Segments = []widget.RichTextSegment{&widget.TextSegment{Text: describe(s), Style: caption}}
	sub.Refresh()
}

// snippet cuts text around the first match of term.
func snippet(text, term string, around int) string {
	r := []rune(text)
	i := strings.Index(strings.ToLower(text), strings.ToLower(term))
	if i < 0 || len(r) <= 2*around {
		return text
	}
	ri := len([]rune(text[:i]))
	start := max(0, ri-around)
	end := min(len(r), ri+len([]rune(term))+around)
	s := string(r[start:end])
	if start > 0 {
		s = "…" + s
	}
	if end < len(r) {
		s += "…"
	}
	return s
}

// reload lists the conversations.
func (h *historyWindow) reload() {
	v := h.u.vault
	if v == nil {
		return
	}
	h.u.async(func() {
		convs, err := v.Conversations()
		fyne.Do(func() {
			if err != nil {
				h.u.showError(fmt.Errorf("could not read the history: %w", err))
				return
			}
			h.convs = convs
			h.showList()
		})
	})
}

func (h *historyWindow) showList() {
	h.list.UnselectAll()
	h.list.Refresh()
	switch {
	case h.term != "" && len(h.hits) == 0:
		h.nothing.SetText(fmt.Sprintf("No message contains %q.", h.term))
		h.nothing.Show()
	case h.term == "" && len(h.convs) == 0:
		h.nothing.SetText("No saved conversations yet.")
		h.nothing.Show()
	default:
		h.nothing.Hide()
	}
	if h.term != "" {
		h.info.SetText(plural(len(h.hits), "message", "messages") + " found")
	} else {
		h.info.SetText(plural(len(h.convs), "conversation", "conversations") + ", newest first")
	}
}

func (h *historyWindow) runSearch(text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		h.term, h.hits = "", nil
		h.view.setHighlight("")
		h.showList()
		return
	}
	v := h.u.vault
	h.u.async(func() {
		hits, err := v.Search(text)
		fyne.Do(func() {
			if err != nil {
				h.u.showError(fmt.Errorf("could not search the history: %w", err))
				return
			}
			h.term, h.hits = text, hits
			h.showList()
		})
	})
}

func (h *historyWindow) selected(id widget.ListItemID) {
	if h.term != "" {
		if id < len(h.hits) {
			hit := h.hits[id]
			h.openConversation(hit.Conversation, hit.Message.ID)
		}
		return
	}
	if id < len(h.convs) {
		h.openConversation(h.convs[id], "")
	}
}

// openConversation shows conversation s read-only; focus is the id of a
// message to scroll to and outline.
func (h *historyWindow) openConversation(s Summary, focus string) {
	v := h.u.vault
	term := h.term
	h.title.SetText("Opening the conversation with " + s.Partner + "…")
	h.u.async(func() {
		t, err := v.Load(s.ID)
		if err != nil {
			h.u.showError(fmt.Errorf("could not open the conversation: %w", err))
			return
		}
		rows, at := transcriptRows(t, focus)
		fyne.Do(func() {
			h.open = s.ID
			h.title.SetText(fmt.Sprintf("%s  ·  %s", t.Partner, describe(t.Summary)))
			h.view.highlight = term
			h.view.setRows(rows, at)
		})
	})
}

// transcriptRows turns a stored conversation into read-only rows; it also
// returns the index of message focus, or -1.
func transcriptRows(t *Transcript, focus string) ([]*row, int) {
	rows := make([]*row, 0, len(t.Messages)+1)
	store := make([]row, len(t.Messages)) // one allocation for them all
	at := -1
	for i, m := range t.Messages {
		r := &store[i]
		*r = row{kind: rowMessage, id: m.ID, outgoing: m.Outgoing, from: t.Partner,
			text: m.Text, time: m.Time, reason: m.Reason, readOnly: true}
		if m.Outgoing {
			switch m.Status {
			case "delivered":
				r.status = statusDelivered
			case "failed":
				r.status = statusFailed
			default:
				r.status = statusSending
			}
		}
		if focus != "" && m.ID == focus {
			at = len(rows)
		}
		rows = append(rows, r)
	}
	if !t.End.IsZero() || t.EndReason != "" {
		end := "The conversation ended"
		if t.EndReason != "" {
			end += ": " + t.EndReason
		}
		rows = append(rows, &row{kind: rowSystem, text: end})
	}
	return rows, at
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
