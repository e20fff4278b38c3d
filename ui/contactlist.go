package ui

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/session"
)

// listItem is one row of the contact list: an online dot, the name, the
// newest message's preview and time, and the unread count.
type listItem struct {
	widget.BaseWidget
	dot     *widget.Icon
	name    *widget.Label
	preview *widget.Label
	when    *widget.Label
	badge   *badge

	// id is the row shown; onTap acts on it. The row takes the tap itself:
	// the list's own tap focuses the list and ignores a row already
	// selected, so re-selecting the contact shown left the keyboard in the
	// list and lost what was typed next.
	id    widget.ListItemID
	onTap func(widget.ListItemID)
}

// Tapped implements fyne.Tappable: a tap selects the row, or opens the
// contact shown again, and gives the message input the keyboard.
func (it *listItem) Tapped(*fyne.PointEvent) {
	if it.onTap != nil {
		it.onTap(it.id)
	}
}

func newListItem() fyne.CanvasObject {
	it := &listItem{dot: widget.NewIcon(nil), name: widget.NewLabel(""), preview: widget.NewLabel(""),
		when: widget.NewLabel(""), badge: newBadge()}
	it.name.TextStyle.Bold = true
	it.name.Truncation = fyne.TextTruncateEllipsis
	it.preview.Truncation = fyne.TextTruncateEllipsis
	it.preview.SizeName = theme.SizeNameCaptionText
	it.when.SizeName = theme.SizeNameCaptionText
	it.ExtendBaseWidget(it)
	return it
}

// CreateRenderer implements fyne.Widget.
func (it *listItem) CreateRenderer() fyne.WidgetRenderer {
	top := container.NewBorder(nil, nil, it.dot, it.when, it.name)
	bottom := container.NewBorder(nil, nil, nil, container.NewCenter(it.badge), it.preview)
	return widget.NewSimpleRenderer(container.New(tightVBox{}, top, bottom))
}

// listView is what one row shows, as text: the list draws it and tests
// read it.
type listView struct {
	name, preview, when string
	unread              int
	online              bool
}

func (m *messenger) viewOf(p *peer) listView {
	return listView{name: p.label(), preview: p.preview(), when: when(p.lastTime, clock()), unread: p.unread, online: p.online()}
}

func (m *messenger) listLength() int {
	if m.term != "" {
		return len(m.hits)
	}
	return len(m.order)
}

func (m *messenger) updateListItem(id widget.ListItemID, o fyne.CanvasObject) {
	it := o.(*listItem)
	it.id, it.onTap = id, m.listSelected
	if m.term != "" {
		if id >= len(m.hits) {
			return
		}
		h := m.hits[id]
		name := h.Conversation.Partner
		if p, ok := m.peers[h.Conversation.Fingerprint]; ok {
			name = p.label()
		}
		it.dot.SetResource(theme.SearchIcon())
		it.name.SetText(name)
		it.preview.SetText(strings.ReplaceAll(snippet(h.Message.Text, m.term, 40), "\n", " "))
		it.when.SetText(when(h.Message.Time, clock()))
		it.badge.set(0)
		return
	}
	if id >= len(m.order) {
		return
	}
	v := m.viewOf(m.order[id])
	if v.online {
		it.dot.SetResource(theme.NewSuccessThemedResource(theme.MediaRecordIcon()))
	} else {
		it.dot.SetResource(theme.NewDisabledResource(theme.RadioButtonIcon()))
	}
	it.name.SetText(v.name)
	it.preview.SetText(v.preview)
	it.when.SetText(v.when)
	it.badge.set(v.unread)
}

func (m *messenger) listSelected(id widget.ListItemID) {
	if m.selecting {
		return
	}
	if m.term != "" {
		if id < len(m.hits) {
			h := m.hits[id]
			m.list.Unselect(id)
			m.openAt(m.peer(h.Conversation.Fingerprint), h.Message.ID)
			m.refreshList()
		}
		return
	}
	if id < len(m.order) {
		m.selectPeer(m.order[id])
	}
}

// refreshList redraws the rows and keeps the selection on the peer shown.
func (m *messenger) refreshList() {
	m.list.Refresh()
	switch {
	case m.term != "" && len(m.hits) == 0:
		m.nothing.SetText(fmt.Sprintf("No message contains %q.", m.term))
		m.nothing.Show()
	case m.term == "" && len(m.order) == 0:
		m.nothing.SetText("No contacts yet. Start a New chat, or listen so that someone can reach you.")
		m.nothing.Show()
	default:
		m.nothing.Hide()
	}
	if m.selected != nil {
		m.selectInList(m.selected)
	}
}

// refreshRequests shows the pending requests above the contacts, each with
// Accept (through the trust dialog, with its warnings) and Decline.
func (m *messenger) refreshRequests() {
	m.requestsBox.RemoveAll()
	if len(m.requests) == 0 {
		m.requestsHead.Hide()
		m.requestsBox.Hide()
		return
	}
	m.requestsHead.SetText("Requests (" + strconv.Itoa(len(m.requests)) + ")")
	for i, r := range m.requests {
		if i == maxRequestsShown {
			more := widget.NewLabel(fmt.Sprintf("%d more: they show as you answer these.", len(m.requests)-i))
			more.SizeName = theme.SizeNameCaptionText
			more.Wrapping = fyne.TextWrapWord
			m.requestsBox.Add(more)
			break
		}
		p, incoming := r.partner, r.incoming
		what := " wants to chat"
		icon := theme.QuestionIcon()
		if p.Trust == session.TrustChanged || p.LooksLike != "" {
			what = ": not your contact's key!"
			icon = theme.NewErrorThemedResource(theme.WarningIcon())
		}
		name := widget.NewLabel(p.Name + what)
		name.TextStyle.Bold = true
		name.Truncation = fyne.TextTruncateEllipsis
		accept := widget.NewButton("Accept…", func() { m.askTrust(p, incoming) })
		accept.Importance = widget.HighImportance
		decline := widget.NewButton("Decline", func() {
			m.decline(p.Fingerprint)
			m.focusInput()
		})
		m.requestsBox.Add(container.New(tightVBox{},
			container.NewBorder(nil, nil, widget.NewIcon(icon), nil, name),
			container.NewGridWithColumns(2, accept, decline)))
	}
	m.requestsBox.Add(widget.NewSeparator())
	m.requestsHead.Show()
	m.requestsBox.Show()
}

// maxRequestsShown is how many requests the list shows at once, so that
// the contacts keep their room.
const maxRequestsShown = 3

// requestButtons finds the Accept… and Decline buttons of the request of key fp.
func (m *messenger) requestButtons(fp string) (accept, decline *widget.Button) {
	for i, r := range m.requests {
		if i >= maxRequestsShown {
			break
		}
		if r.partner.Fingerprint != fp || i >= len(m.requestsBox.Objects) {
			continue
		}
		row := m.requestsBox.Objects[i].(*fyne.Container)
		buttons := row.Objects[1].(*fyne.Container)
		return buttons.Objects[0].(*widget.Button), buttons.Objects[1].(*widget.Button)
	}
	return nil, nil
}

// badge is the unread count: white on the primary colour, hidden at 0.
type badge struct {
	widget.BaseWidget
	bg   *canvas.Rectangle
	text *canvas.Text
	n    int
}

func newBadge() *badge {
	b := &badge{bg: canvas.NewRectangle(theme.Color(theme.ColorNamePrimary)),
		text: canvas.NewText("", color.White)}
	b.text.TextStyle.Bold = true
	b.text.TextSize = theme.CaptionTextSize()
	b.text.Alignment = fyne.TextAlignCenter
	b.ExtendBaseWidget(b)
	return b
}

func (b *badge) set(n int) {
	b.n = n
	switch {
	case n <= 0:
		b.text.Text = ""
	case n > 99:
		b.text.Text = "99+"
	default:
		b.text.Text = strconv.Itoa(n)
	}
	if n <= 0 {
		b.Hide()
	} else {
		b.Show()
	}
	b.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (b *badge) CreateRenderer() fyne.WidgetRenderer {
	return &badgeRenderer{b: b}
}

type badgeRenderer struct{ b *badge }

func (r *badgeRenderer) Layout(size fyne.Size) {
	r.b.bg.Resize(size)
	r.b.bg.CornerRadius = size.Height / 2
	r.b.text.Resize(size)
}

func (r *badgeRenderer) MinSize() fyne.Size {
	t := fyne.MeasureText(r.b.text.Text, r.b.text.TextSize, r.b.text.TextStyle)
	h := t.Height + 2
	return fyne.NewSize(max(h, t.Width+h/2+4), h)
}

func (r *badgeRenderer) Refresh() {
	r.b.bg.FillColor = theme.Color(theme.ColorNamePrimary)
	r.b.bg.Refresh()
	r.b.text.Refresh()
}

func (r *badgeRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.b.bg, r.b.text} }
func (r *badgeRenderer) Destroy()                     {}

// tightVBox stacks its objects like a VBox, without padding between them.
type tightVBox struct{}

func (tightVBox) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	var y float32
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h
	}
}

func (tightVBox) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		ms := o.MinSize()
		s.Width = max(s.Width, ms.Width)
		s.Height += ms.Height
	}
	return s
}
