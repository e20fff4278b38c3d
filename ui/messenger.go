package ui

import (
	"errors"
	"fmt"
	"image"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/session"
)

// messenger is the main window after unlocking: the contact list on the
// left (requests first, then contacts by activity, or search hits), the
// selected contact's thread on the right. It owns the app's one controller
// and the one goroutine that reads its events.
type messenger struct {
	u    *UI
	ctrl session.Controller

	closing atomic.Bool
	done    chan struct{} // closed when the event reader has stopped

	peers    map[string]*peer
	order    []*peer // the listed peers, newest activity first
	requests []*request
	links    map[session.LinkID]*linkInfo
	selected *peer
	showWire bool
	closed   bool

	listening   bool
	lastDial    string // the address last dialed from New chat, this run
	listenAddrs []string
	listenPort  string
	listenNote  string // why listening failed, in words
	listenErr   error

	tor torState // Tor mode

	// files carries the file transfers; nil when this run has none.
	// filesDone is closed when its event reader has stopped; thumbs
	// holds the thumbnails made (nil: none can be).
	files       Files
	filesDone   chan struct{}
	filesClosed bool
	thumbs      map[string]image.Image

	// the trust dialog shown, and the key it asks about
	dialog    dialog.Dialog
	dialogFor string
	// keys the user accepted by hand, to show once connected
	acceptedByHand map[string]bool
	// pending holds the messages sent until their Queued (or Failed)
	// comes: a message the history did not take goes back to the input.
	pending map[string]sentText
	// tickStop stops the ticker that counts the reconnect down in the
	// header; nil while none runs.
	tickStop chan struct{}

	// search
	term string
	hits []Hit

	content fyne.CanvasObject

	// left
	search       *widget.Entry
	list         *widget.List
	nothing      *widget.Label
	requestsHead *widget.Label
	requestsBox  *fyne.Container
	newChat      *widget.Button
	settings     *widget.Button
	wireToggle   *widget.Check
	listenIcon   *widget.Icon
	listenStatus *widget.Label
	listenToggle *widget.Button
	selecting    bool // the list is being selected by code

	// right
	right      *fyne.Container
	empty      *fyne.Container
	header     *fyne.Container
	partnerLbl *widget.Button // the name; opens the details
	trust      *widget.Label
	verify     *widget.Button
	action     *widget.Button // Disconnect, while connected
	connect    *widget.Button // Connect, Try now, or Cancel while connecting
	statusIcon *widget.Icon
	status     *widget.Label
	safetyBox  *fyne.Container
	safety     *widget.Label
	holder     *fyne.Container // the selected peer's messageList
	bar        *fyne.Container // the offline note and its buttons
	barText    *widget.Label
	barDetails *widget.Button
	input      *messageEntry
	send       *widget.Button
	attach     *widget.Button // sends a file; nil without files
	hint       *widget.Label
}

// sentText is a message given to the controller, not yet queued.
type sentText struct{ contact, text string }

// request is an incoming request from a key that the user decides about.
type request struct {
	link     session.LinkID
	partner  session.Partner
	incoming bool // a caller; else another key answered our dial
}

// linkInfo is what the app knows of one link.
type linkInfo struct {
	contact   string // the key, once known
	dialed    bool   // we dialed it
	viaDialog bool   // dialed from the New chat dialog
	addr      string // the address (or the first address) dialed
	incoming  bool
}

// chatMinSize is the smallest the main window gets: the contact list, and
// room for a few messages between the thread's header and input.
var chatMinSize = fyne.NewSize(600, 460)

func newMessenger(u *UI, ctrl session.Controller, files Files) *messenger {
	m := &messenger{u: u, ctrl: ctrl, done: make(chan struct{}),
		peers: map[string]*peer{}, links: map[session.LinkID]*linkInfo{}, acceptedByHand: map[string]bool{},
		pending: map[string]sentText{}, files: files, thumbs: map[string]image.Image{}}
	m.listenPort = DefaultPort
	if u.vault != nil {
		st := u.vault.Settings()
		if st.ListenPort != 0 {
			m.listenPort = strconv.Itoa(st.ListenPort)
		}
		m.tor.on, m.tor.only, m.tor.path = st.Tor, st.TorOnly, st.TorPath
	}

	// Left: search, requests, contacts, and the app's state below.
	m.search = widget.NewEntry()
	m.search.SetPlaceHolder("Search messages")
	m.search.OnSubmitted = m.runSearch
	m.search.OnChanged = func(s string) {
		if strings.TrimSpace(s) == "" && m.term != "" {
			m.runSearch("")
		}
	}
	m.list = widget.NewList(m.listLength, newListItem, m.updateListItem)
	m.list.OnSelected = m.listSelected
	m.nothing = widget.NewLabel("")
	m.nothing.Alignment = fyne.TextAlignCenter
	m.nothing.Wrapping = fyne.TextWrapWord
	m.nothing.Hide()
	m.requestsHead = widget.NewLabelWithStyle("Requests", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	m.requestsBox = container.NewVBox()
	m.newChat = widget.NewButtonWithIcon("New chat", theme.ContentAddIcon(), func() { u.showChoose() })
	m.settings = widget.NewButtonWithIcon("", theme.SettingsIcon(), u.showSettings)
	m.wireToggle = widget.NewCheck("What the network sees", func(on bool) {
		m.setShowWire(on)
		m.focusInput()
	})
	m.listenIcon = widget.NewIcon(nil)
	m.listenStatus = widget.NewLabel("")
	m.listenStatus.Wrapping = fyne.TextWrapWord
	m.listenStatus.SizeName = theme.SizeNameCaptionText
	m.listenToggle = widget.NewButton("", m.toggleListening)

	top := container.NewVBox(m.search, container.NewVBox(m.requestsHead, m.requestsBox))
	bottom := container.NewVBox(widget.NewSeparator(),
		container.NewBorder(nil, nil, m.listenIcon, m.listenToggle, m.listenStatus),
		m.buildTor(),
		m.wireToggle,
		container.NewBorder(nil, nil, nil, m.settings, m.newChat))
	left := container.NewBorder(top, bottom, nil, nil, container.NewStack(m.list, container.NewVBox(m.nothing)))

	// Right: the selected thread.
	m.partnerLbl = widget.NewButtonWithIcon("", theme.InfoIcon(), m.showDetails)
	m.partnerLbl.Importance = widget.LowImportance
	m.partnerLbl.Alignment = widget.ButtonAlignLeading
	m.trust = widget.NewLabel("")
	m.verify = widget.NewButtonWithIcon("Verify", theme.ConfirmIcon(), m.verifySelected)
	m.action = widget.NewButtonWithIcon("Disconnect", theme.LogoutIcon(), m.disconnectSelected)
	m.connect = widget.NewButtonWithIcon("Connect", theme.ViewRefreshIcon(), m.connectTapped)
	m.statusIcon = widget.NewIcon(theme.MediaRecordIcon())
	m.status = widget.NewLabel("")
	m.status.Wrapping = fyne.TextWrapWord
	m.status.TextStyle.Bold = true
	// Not monospace: each text style costs Fyne a set of font faces (the
	// emoji font parsed again, about 5 MiB), and this header is always
	// shown. The digits of the text font have one width anyway.
	m.safety = widget.NewLabel("")
	m.safety.SizeName = theme.SizeNameCaptionText
	safetyCaption := widget.NewLabel("Safety number")
	safetyCaption.SizeName = theme.SizeNameCaptionText
	m.safetyBox = container.NewHBox(safetyCaption, m.safety)
	m.header = container.NewVBox(
		container.NewBorder(nil, nil, container.NewHBox(m.partnerLbl, m.trust, m.verify), nil),
		container.NewBorder(nil, nil, m.statusIcon, container.NewHBox(m.connect, m.action), m.status),
		container.NewBorder(nil, nil, nil, m.safetyBox),
		widget.NewSeparator())

	m.holder = container.NewStack()
	m.barText = widget.NewLabel("")
	m.barText.Wrapping = fyne.TextWrapWord
	m.barDetails = widget.NewButton("Details", m.showBarDetails)
	m.barDetails.Importance = widget.LowImportance
	m.bar = container.NewBorder(nil, nil, nil, m.barDetails, m.barText)
	m.input = newMessageEntry(m.sendTapped)
	m.input.onChange = func(string) { m.updateSend() }
	m.send = widget.NewButtonWithIcon("Send", theme.MailSendIcon(), m.sendTapped)
	m.send.Importance = widget.HighImportance
	m.hint = widget.NewLabel("")
	m.hint.SizeName = theme.SizeNameCaptionText
	m.hint.Importance = widget.WarningImportance
	m.hint.Wrapping = fyne.TextWrapWord
	m.hint.Hide()
	var attach fyne.CanvasObject
	if files != nil {
		m.attach = widget.NewButtonWithIcon("", theme.MailAttachmentIcon(), m.attachTapped)
		attach = m.attach
		u.win.SetOnDropped(m.dropped)
		m.input.onPasteFiles = m.pasteFiles
		m.input.onPastePicture = m.pastePicture
	}
	inputs := container.NewVBox(widget.NewSeparator(), m.bar, m.hint,
		container.NewBorder(nil, nil, attach, m.send, m.input))
	m.right = container.NewBorder(m.header, inputs, nil, nil, m.holder)

	hello := canvas.NewText("", theme.Color(theme.ColorNameForeground))
	if u.vault != nil {
		hello.Text = "Signed in as " + u.vault.Name()
	}
	hello.TextStyle.Bold = true
	hello.Alignment = fyne.TextAlignCenter
	emptyText := widget.NewLabel("Choose a contact on the left, or start a New chat.")
	emptyText.Alignment = fyne.TextAlignCenter
	emptyText.Wrapping = fyne.TextWrapWord
	m.empty = container.NewCenter(fixedWidth(320, container.NewVBox(hello, emptyText)))

	m.content = container.New(minSizeLayout{chatMinSize},
		container.New(paneLayout{}, left, widget.NewSeparator(), container.NewStack(m.right, m.empty)))
	m.refreshListening()
	m.refreshTor()
	m.refreshRequests()
	m.refreshThread()
	return m
}

// paneLayout puts the contact list left, a separator, and the thread right.
// The list takes about a third of the width, between 190 and 320 pixels,
// so that at the minimum width the thread keeps 400.
type paneLayout struct{}

func listWidth(total float32) float32 {
	return min(max(total*0.32, 190), 320)
}

func (paneLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	lw := listWidth(size.Width)
	sep := theme.SeparatorThicknessSize()
	pad := theme.Padding()
	objs[0].Move(fyne.NewPos(pad, pad))
	objs[0].Resize(fyne.NewSize(lw-2*pad, size.Height-2*pad))
	objs[1].Move(fyne.NewPos(lw, 0))
	objs[1].Resize(fyne.NewSize(sep, size.Height))
	objs[2].Move(fyne.NewPos(lw+sep+pad, pad))
	objs[2].Resize(fyne.NewSize(size.Width-lw-sep-2*pad, size.Height-2*pad))
}

func (paneLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	l, r := objs[0].MinSize(), objs[2].MinSize()
	pad := theme.Padding()
	return fyne.NewSize(190+theme.SeparatorThicknessSize()+r.Width+2*pad, max(l.Height, r.Height)+2*pad)
}

// start reads the vault's contacts and threads into the list (off the UI
// goroutine: the threads come from the whole history) and begins reading
// the controller's events. With no contact and no history yet, it opens
// the New chat dialog.
func (m *messenger) start() {
	go m.readEvents()
	if m.files != nil {
		m.filesDone = make(chan struct{})
		go m.readFileEvents(m.files, m.filesDone)
	}
	v := m.u.vault
	if v == nil {
		return
	}
	m.u.async(func() {
		contacts := v.Contacts()
		threads, err := v.Threads()
		fyne.Do(func() {
			if err != nil {
				m.u.showProblem("The history could not be read.", err)
			}
			m.loadPeers(contacts, threads)
			if len(contacts) == 0 && len(threads) == 0 && err == nil && m.u.choose == nil {
				m.u.showChoose() // the first start: how to begin
			}
			m.refreshTitle()
		})
	})
}

// readEvents is the one goroutine reading the controller: every event is
// handled on the UI goroutine, in order, through fyne.Do.
func (m *messenger) readEvents() {
	defer close(m.done)
	for ev := range m.ctrl.Events() {
		if m.closing.Load() {
			if _, ok := ev.(session.Closed); ok {
				return
			}
			continue // the app is going away: only drain
		}
		if ev == nil {
			continue
		}
		fyne.Do(func() { m.handle(ev) })
		if _, ok := ev.(session.Closed); ok {
			return
		}
	}
}

// selectPeer shows p's thread on the right; the input keeps what was
// typed for each contact.
func (m *messenger) selectPeer(p *peer) {
	if m.selected != p {
		if m.selected != nil {
			m.selected.draft = m.input.Text
		}
		m.selected = p
		m.input.SetText(p.draft)
		m.setHint("")
		m.reconnectNow(p, true) // opening a contact dials it at once
	}
	l := m.ensureThread(p)
	m.holder.Objects = []fyne.CanvasObject{l}
	m.holder.Refresh()
	m.selectInList(p)
	m.markRead(p)
	m.refreshThread()
	m.refreshTitle()
	m.focusInput()
}

// selectInList selects p's row without acting on it again.
func (m *messenger) selectInList(p *peer) {
	if m.term != "" {
		return
	}
	for i, q := range m.order {
		if q == p {
			m.selecting = true
			m.list.Select(i)
			m.selecting = false
			return
		}
	}
	m.list.UnselectAll()
}

// markRead clears p's unread count when its thread is in front of the
// user, and tells the vault (a write: off the UI goroutine).
func (m *messenger) markRead(p *peer) {
	if p == nil || p != m.selected || !m.u.focused || p.unread == 0 {
		return
	}
	p.unread = 0
	m.refreshList()
	m.refreshTitle()
	if v := m.u.vault; v != nil {
		id := p.id
		m.u.async(func() {
			if err := v.MarkRead(id); err != nil {
				m.u.showProblem("Could not save what you have read.", err)
			}
		})
	}
}

// focusInput gives the keyboard to the message input of the thread shown;
// every control calls it when done, so that what is typed next is not
// typed into nothing.
func (m *messenger) focusInput() {
	if m.closed || m.u.main != m || m.selected == nil || m.input.Disabled() {
		return
	}
	if m.u.choose != nil {
		return // the New chat dialog has the keyboard
	}
	if m.u.win.Canvas().Focused() != m.input {
		m.input.handedBack = true
	}
	m.u.win.Canvas().Focus(m.input)
}

// thread returns the messages pane shown, or nil.
func (m *messenger) thread() *messageList {
	if m.selected == nil {
		return nil
	}
	return m.selected.thread
}

// refreshThread shows the selected peer's state in the header and bar.
func (m *messenger) refreshThread() {
	p := m.selected
	if p == nil {
		m.right.Hide()
		m.empty.Show()
		return
	}
	m.empty.Hide()
	m.right.Show()
	name := p.label()
	m.partnerLbl.SetText(shorten(name, 20))

	status, icon := m.statusOf(p)
	m.status.SetText(status)
	m.statusIcon.SetResource(icon)
	m.updateTicker()

	trust := m.trustOf(p)
	switch trust {
	case session.TrustVerified:
		m.trust.SetText("verified")
		m.trust.Importance = widget.SuccessImportance
	case session.TrustChanged:
		m.trust.SetText("KEY CHANGED")
		m.trust.Importance = widget.DangerImportance
	case session.TrustInvited:
		m.trust.SetText("invited")
		m.trust.Importance = widget.SuccessImportance
	case session.TrustNew:
		m.trust.SetText("new, not verified")
		m.trust.Importance = widget.WarningImportance
	default:
		m.trust.SetText("not verified")
		m.trust.Importance = widget.WarningImportance
	}
	m.trust.Refresh()
	if sn := m.safetyNumber(p); sn != "" {
		m.safety.SetText(twoLines(sn))
		m.safetyBox.Show()
	} else {
		m.safetyBox.Hide()
	}
	if trust != session.TrustVerified && (p.state == peerConnected || p.contact) {
		m.verify.Show()
	} else {
		m.verify.Hide()
	}
	if p.state == peerConnected {
		m.action.Show()
	} else {
		m.action.Hide()
	}

	// the button beside the status: Connect, Try now, or Cancel
	m.connect.Show()
	switch p.state {
	case peerDialing, peerHandshaking, peerAwaiting:
		m.connect.SetText("Cancel")
		m.connect.SetIcon(theme.CancelIcon())
		m.connect.Importance = widget.MediumImportance
		if p.link == 0 {
			m.connect.Hide()
		}
	case peerOffline:
		m.connect.SetText("Connect")
		if !p.paused && !p.reconnectAt.IsZero() {
			m.connect.SetText("Try now")
		}
		m.connect.SetIcon(theme.ViewRefreshIcon())
		m.connect.Importance = widget.HighImportance
		if len(p.addrs) == 0 || !p.contact {
			m.connect.Hide()
		}
	default:
		m.connect.Hide()
	}
	m.connect.Refresh()

	// the bar above the input: why a message waits, or why the input is off
	m.barDetails.Hide()
	switch {
	case p.state == peerConnected:
		m.bar.Hide()
		m.input.Enable()
	case p.contact:
		// write to a contact any time: the message waits in the outbox
		m.bar.Show()
		m.input.Enable()
		// we only know we are not connected: name may be online, listening
		text := "Not connected to " + name + ": what you write is sent once you are connected."
		if p.note != "" && p.state == peerOffline {
			text += " " + p.note
			if p.noteErr != nil {
				m.barDetails.Show()
			}
		}
		if len(p.addrs) == 0 {
			text += " There is no address to dial: " + name + " can connect to you while you listen."
		}
		m.barText.SetText(text)
	case p.state == peerDeciding:
		m.bar.Show()
		m.input.Disable()
		m.barText.SetText(name + " wants to chat: accept or decline the request.")
	case p.state == peerAwaiting:
		m.bar.Show()
		m.input.Disable()
		m.barText.SetText("Waiting for " + name + " to accept…")
	default:
		m.bar.Show()
		m.input.Disable()
		m.barText.SetText(name + " is not connected and not a contact: messages can go to " + name + " once you are connected.")
	}
	m.updateSend()
	m.refreshAttach()
	if p.thread != nil {
		p.thread.setPartner(name, p.online())
	}
}

// statusOf is the header's line about p's connection, and its icon.
func (m *messenger) statusOf(p *peer) (string, fyne.Resource) {
	name := p.label()
	switch p.state {
	case peerConnected:
		if p.viaTor {
			return "Connected · encrypted · through Tor", theme.NewSuccessThemedResource(theme.MediaRecordIcon())
		}
		return "Connected · encrypted", theme.NewSuccessThemedResource(theme.MediaRecordIcon())
	case peerDialing:
		return "Connecting…", theme.ViewRefreshIcon()
	case peerHandshaking:
		return "Securing the connection…", theme.ViewRefreshIcon()
	case peerDeciding:
		if p.partner != nil && p.partner.Trust == session.TrustChanged {
			return name + "'s key has changed", theme.QuestionIcon()
		}
		return name + " wants to chat", theme.QuestionIcon()
	case peerAwaiting:
		return "Waiting for " + name + " to accept…", theme.QuestionIcon()
	}
	offline := theme.NewDisabledResource(theme.MediaRecordIcon())
	switch {
	case p.paused:
		return "Not connected. You or " + name + " ended the chat", offline
	case !p.reconnectAt.IsZero():
		return reconnectWords(p.reconnectAt.Sub(clock())), offline
	}
	return "Not connected", offline
}

// reconnectWords counts down to the next automatic dial, in whole seconds.
func reconnectWords(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second) // rounded up: 0 only when due
	switch {
	case secs <= 0:
		return "Reconnecting…"
	case secs < 60:
		return fmt.Sprintf("Reconnecting in %d s", secs)
	case secs%60 == 0:
		return fmt.Sprintf("Reconnecting in %d min", secs/60)
	}
	return fmt.Sprintf("Reconnecting in %d min %d s", secs/60, secs%60)
}

// needsTicker reports whether the header counts a reconnect down.
func (m *messenger) needsTicker() bool {
	p := m.selected
	return !m.closed && m.u.main == m && p != nil && p.state == peerOffline && !p.paused &&
		!p.reconnectAt.IsZero() && clock().Before(p.reconnectAt.Add(time.Second))
}

// updateTicker starts the once-a-second countdown of the header when the
// contact shown waits for a reconnect, and stops it when nothing needs it.
func (m *messenger) updateTicker() {
	need := m.needsTicker()
	switch {
	case need && m.tickStop == nil:
		stop := make(chan struct{})
		m.tickStop = stop
		ticks, stopTicks := m.u.ticker()
		go func() {
			defer stopTicks()
			for {
				select {
				case <-stop:
					return
				case now := <-ticks:
					if now.IsZero() {
						continue
					}
					fyne.Do(func() {
						if m.tickStop == stop {
							m.tick()
						}
					})
				}
			}
		}()
	case !need && m.tickStop != nil:
		close(m.tickStop)
		m.tickStop = nil
	}
}

// tick redraws the countdown of the contact shown (UI goroutine).
func (m *messenger) tick() {
	if p := m.selected; p != nil && !m.closed && m.u.main == m {
		text, _ := m.statusOf(p)
		m.status.SetText(text)
	}
	m.updateTicker()
}

// trustOf is what p's key is to us now.
func (m *messenger) trustOf(p *peer) session.Trust {
	if p.partner != nil && (p.state != peerOffline || !p.contact) {
		if p.verified && p.partner.Trust != session.TrustChanged {
			return session.TrustVerified
		}
		return p.partner.Trust
	}
	switch {
	case p.verified:
		return session.TrustVerified
	case p.invited:
		return session.TrustInvited
	case p.contact:
		return session.TrustKnown
	}
	return session.TrustNew
}

func (m *messenger) updateSend() {
	p := m.selected
	if p != nil && m.canWrite(p) && strings.TrimSpace(m.input.Text) != "" {
		m.send.Enable()
	} else {
		m.send.Disable()
	}
}

// canWrite reports whether a message to p can be written now: to any
// contact, online or not (it waits in the outbox), or to whom is connected.
func (m *messenger) canWrite(p *peer) bool {
	return p.contact || p.state == peerConnected
}

func (m *messenger) setHint(s string) {
	if s == "" {
		m.hint.Hide()
		return
	}
	m.hint.SetText(s)
	m.hint.Show()
}

// refreshTitle says in the window title who is shown and how many
// messages are unread, so that a window in the taskbar tells it too.
func (m *messenger) refreshTitle() {
	if m.u.main != m {
		return
	}
	title := "SecureChat"
	switch {
	case m.u.choose != nil:
		title += " — Host or Connect"
	case m.selected != nil:
		title += " — " + m.selected.label()
		if m.selected.state != peerConnected {
			title += " (" + stateWords(m.selected.state) + ")"
		}
	case m.listening:
		title += " — waiting on port " + m.listenPort
	}
	if n := m.unreadTotal() + len(m.requests); n > 0 {
		title = countWord(n) + " " + title
	}
	m.u.win.SetTitle(title)
}

func stateWords(s peerState) string {
	switch s {
	case peerDialing, peerHandshaking:
		return "connecting"
	case peerDeciding:
		return "asking"
	case peerAwaiting:
		return "waiting"
	}
	return "not connected"
}

func (m *messenger) sendTapped() {
	// surrounding blanks are never meant (a Space that pressed a dialog
	// button also reaches the input as a character)
	text := strings.TrimSpace(m.input.Text)
	p := m.selected
	switch {
	case text == "":
		m.setHint("")
		return
	case p == nil || !m.canWrite(p):
		m.setHint("Not connected: the message stays here until you are connected.")
		return
	}
	// The message shows once its Queued says it is stored: it is then
	// sent whenever the contact is online, after a restart too.
	id, err := m.ctrl.Send(p.id, text)
	if err != nil {
		m.setHint(problemWords("send it", err))
		return
	}
	m.pending[id] = sentText{contact: p.id, text: text}
	m.setHint("")
	m.input.SetText("")
	m.focusInput()
}

// queued shows a message that is durably in the outbox.
func (m *messenger) queued(e session.Queued) {
	if e.Contact == "" || e.Message.ID == "" {
		return
	}
	mine := false
	if s, ok := m.pending[e.Message.ID]; ok {
		delete(m.pending, e.Message.ID)
		mine = true
		if e.Message.Text == "" {
			e.Message.Text = s.text
		}
	}
	e.Message.Outgoing = true
	p := m.peer(e.Contact)
	m.showOutgoing(p, e.Message, statusQueued)
	if mine && p.thread != nil {
		p.thread.scrollToNewest() // what one sends, one wants to see
	}
}

// showOutgoing shows our message msg in p's thread, or updates the bubble
// already showing it (a resend after a restart, a MessageEvent after its
// Queued): one bubble per message id. st is the state to show for a new
// bubble; a shown one keeps its own.
func (m *messenger) showOutgoing(p *peer, msg session.Message, st msgStatus) {
	l := m.ensureThread(p)
	if msg.ID != "" {
		if r, ok := l.byID[msg.ID]; ok {
			if len(msg.Wire) > 0 {
				r.wire = msg.Wire
			}
			if !msg.Time.IsZero() {
				r.time = msg.Time
			}
			if r.status == statusNone || r.status == statusSending || r.status == statusFailed {
				r.status = statusQueued
			}
			l.changed(msg.ID)
			return
		}
		if s, ok := p.statuses[msg.ID]; ok {
			st = s
		}
	}
	from := msg.From
	if m.u.vault != nil {
		from = m.u.vault.Name()
	}
	l.add(&row{kind: rowMessage, id: msg.ID, outgoing: true, from: from, text: msg.Text, time: msg.Time, wire: msg.Wire, status: st})
	p.last, p.lastOut, p.lastTime = msg.Text, true, msg.Time
	if p.lastTime.IsZero() {
		p.lastTime = clock()
	}
	m.touch(p, p.lastTime)
	m.refreshTitle()
}

// setStatus shows what an event said of our message id to contact:
// delivered or cancelled, which nothing changes after.
func (m *messenger) setStatus(contact, id string, st msgStatus) {
	if contact != "" {
		m.peer(contact).setStatus(id, st)
	}
	r, l := m.rowOf(contact, id)
	if r == nil || !r.outgoing || r.status.final() {
		return
	}
	r.status = st
	l.changed(id)
}

// notQueued is a message the history did not take (Failed): it was never
// stored nor sent, so its text goes back to the input it came from.
func (m *messenger) notQueued(e session.Failed) {
	s, ok := m.pending[e.ID]
	if !ok {
		if r, l := m.rowOf(e.Contact, e.ID); r != nil && !r.status.final() {
			r.status, r.reason = statusFailed, failedWords(e.Reason)
			l.changed(e.ID)
		}
		return
	}
	delete(m.pending, e.ID)
	p := m.peer(s.contact)
	restored := false
	switch {
	case p == m.selected && strings.TrimSpace(m.input.Text) == "":
		m.input.SetText(s.text)
		restored = true
	case p != m.selected && strings.TrimSpace(p.draft) == "":
		p.draft = s.text
		restored = true
	}
	words := "Your message to " + p.label() + " could not be saved on this computer, so it was not sent."
	if restored {
		words += " It is back in the input."
	}
	if p == m.selected {
		m.setHint(words)
	}
	m.u.showProblem(words, e.Err)
}

// cancelMessage cancels our queued message id to p: it is never sent
// after that. The bubble says so when the controller's Cancelled comes.
func (m *messenger) cancelMessage(p *peer, id string) {
	defer m.focusInput()
	l := p.thread
	if l == nil {
		return
	}
	if r, ok := l.byID[id]; !ok || r.status != statusQueued {
		return
	}
	contact, ctrl := p.id, m.ctrl
	m.u.async(func() { // a vault write
		err := ctrl.CancelMessage(contact, id)
		switch {
		case err == nil:
		case errors.Is(err, session.ErrAlreadyDelivered):
			fyne.Do(func() { m.setHint("Too late to cancel: it was delivered.") })
		default:
			m.u.showProblem("Could not cancel the message.", err)
		}
	})
}

// note adds a centred line to p's thread.
func (m *messenger) note(p *peer, text string, level noteLevel) {
	m.ensureThread(p).add(&row{kind: rowSystem, text: text, level: level, time: clock()})
}

func (m *messenger) setShowWire(on bool) {
	m.showWire = on
	for _, p := range m.peers {
		if p.thread != nil {
			p.thread.setShowWire(on)
		}
	}
}

// connectTapped dials the selected contact at once (Connect, Try now),
// or cancels the dial in progress.
func (m *messenger) connectTapped() {
	defer m.focusInput()
	p := m.selected
	if p == nil {
		return
	}
	switch p.state {
	case peerDialing, peerHandshaking, peerAwaiting:
		if p.link != 0 {
			if err := m.ctrl.Cancel(p.link); err != nil {
				m.setHint(problemWords("cancel", err))
			}
		}
		return
	case peerOffline:
		m.reconnectNow(p, false)
	}
}

// reconnectNow asks the controller to dial contact p at once, resetting
// its backoff and ending a pause. quiet: a contact merely opened, where a
// failure to start is not worth a word.
func (m *messenger) reconnectNow(p *peer, quiet bool) {
	if p == nil || !p.contact || len(p.addrs) == 0 || p.state != peerOffline {
		return
	}
	p.note, p.noteErr = "", nil
	p.asked = true
	if p.paused {
		p.paused = false
		m.refreshPeer(p)
	}
	id, ctrl := p.id, m.ctrl
	m.u.async(func() {
		if err := ctrl.ReconnectNow(id); err != nil && !quiet {
			m.u.showProblem(problemWords("connect", err), err)
		}
	})
}

func (m *messenger) showBarDetails() {
	if p := m.selected; p != nil && p.noteErr != nil {
		m.u.showDetails(p.noteErr)
	}
}

func (m *messenger) disconnectSelected() {
	defer m.focusInput()
	p := m.selected
	if p == nil {
		return
	}
	id := p.id
	m.command("disconnect", func(c session.Controller) error { return c.Disconnect(id) })
}

// Listening is app state: the status line at the bottom of the list says
// whether SecureChat is listening and where, with a button to change it.

func (m *messenger) refreshListening() {
	switch {
	case m.listening:
		where := "port " + m.listenPort
		if addrs := dialable(m.listenAddrs, 1); len(addrs) > 0 {
			where = addrs[0] // the New chat dialog lists them all
		}
		if m.tor.torOnly() {
			where = "port " + m.listenPort + " for Tor only"
		}
		m.listenStatus.SetText("Listening on " + where)
		m.listenIcon.SetResource(theme.NewSuccessThemedResource(theme.MediaRecordIcon()))
		m.listenToggle.SetText("Stop")
	case m.listenNote != "":
		m.listenStatus.SetText(m.listenNote)
		m.listenIcon.SetResource(theme.NewErrorThemedResource(theme.WarningIcon()))
		m.listenToggle.SetText("Listen")
	default:
		m.listenStatus.SetText("Not listening: contacts cannot reach you")
		m.listenIcon.SetResource(theme.NewDisabledResource(theme.MediaRecordIcon()))
		m.listenToggle.SetText("Listen")
	}
}

func (m *messenger) toggleListening() {
	defer m.focusInput()
	if m.listening {
		m.saveListen(false, 0)
		m.publishTor(0)
		m.command("stop listening", session.Controller.StopListening)
		return
	}
	m.listen(m.listenPort, nil)
}

// listen starts listening on port; done, if set, is told the outcome in
// words ("" for success) on the UI goroutine.
func (m *messenger) listen(port string, done func(problem string)) {
	m.startListening(port, false, done)
}

// startListening listens on port, after stopping the listener first if
// again (it moves to another address: Tor-only mode changed); done, if
// set, is told the outcome in words ("" for success) on the UI goroutine.
// With Tor mode, the onion service forwards to the new listener.
func (m *messenger) startListening(port string, again bool, done func(problem string)) {
	ctrl, addr := m.ctrl, m.listenAddr(port)
	m.u.async(func() {
		if again {
			_ = ctrl.StopListening()
		}
		err := ctrl.Listen(addr)
		fyne.Do(func() {
			if err != nil {
				m.listenNote, m.listenErr = listenWords(err, port), err
				m.publishTor(0)
				m.refreshListening()
				if done != nil {
					done(m.listenNote)
				}
				return
			}
			m.listenPort, m.listenNote, m.listenErr = port, "", nil
			n, _ := strconv.Atoi(port)
			m.publishTor(n)
			m.refreshTor()
			m.saveListen(true, n)
			if done != nil {
				done("")
			}
		})
	})
}

// saveListen remembers in the profile's settings whether the app listens
// from unlock on, and on which port (0: keep the port).
func (m *messenger) saveListen(on bool, port int) {
	v := m.u.vault
	if v == nil {
		return
	}
	m.u.async(func() { // a vault write
		st := v.Settings()
		if st.Listen == on && (port == 0 || st.ListenPort == port) {
			return
		}
		st.Listen = on
		if port != 0 {
			st.ListenPort = port
		}
		if err := v.SaveSettings(st); err != nil {
			m.u.showProblem("Could not remember whether to listen.", err)
		}
	})
}

// dialable picks at most n of the addresses a partner can dial, leaving
// out this machine's own (loopback) ones when there are others.
func dialable(addrs []string, n int) []string {
	var out, loop []string
	for _, a := range addrs {
		if ip := net.ParseIP(hostOf(a)); ip != nil && ip.IsLoopback() {
			loop = append(loop, a)
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		out = loop
	}
	return out[:min(n, len(out))]
}

// dialTarget is what the New chat dialog dials; label names it for the user.
func (m *messenger) dialTarget(t session.Target, label string) (session.LinkID, error) {
	link, err := m.ctrl.DialTarget(t)
	if err != nil {
		return 0, err
	}
	li := &linkInfo{dialed: true, viaDialog: true, contact: t.Contact, addr: label}
	if len(t.Addrs) > 0 {
		li.addr = t.Addrs[0]
	}
	m.links[link] = li
	if t.Contact != "" {
		p := m.peer(t.Contact)
		p.link, p.state = link, peerDialing
		m.refreshThread()
	}
	return link, nil
}

// rememberAddr saves an address dialed for the New chat dialog.
func (m *messenger) rememberAddr(addr string) {
	v := m.u.vault
	if v == nil || addr == "" {
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return
	}
	m.u.async(func() { // a vault write: off the UI goroutine
		if err := v.AddRecentAddr(addr); err != nil {
			m.u.showProblem("Could not remember the address.", err)
		}
	})
}

// closeWait stops the controller and waits for the event reader, then
// stops tor, for when the app is exiting. Tor goes last: the partners
// reached through it are told goodbye first.
func (m *messenger) closeWait() {
	m.closed = true
	m.updateTicker()
	m.closing.Store(true)
	_ = m.ctrl.Close()
	select {
	case <-m.done:
	case <-time.After(3 * time.Second):
	}
	m.closeFiles() // after the controller, which used it
	m.tor.gen++
	if mode := m.tor.mode; mode != nil {
		m.tor.mode = nil
		mode.Close()
	}
}

// twoLines breaks a safety number's groups into two lines.
func twoLines(number string) string {
	groups := strings.Fields(number)
	if len(groups) < 2 {
		return number
	}
	half := (len(groups) + 1) / 2
	return strings.Join(groups[:half], " ") + "\n" + strings.Join(groups[half:], " ")
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
