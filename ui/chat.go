package ui

import (
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/session"
)

type role int

const (
	roleHost role = iota + 1
	roleConnect
)

// connState is where the chat screen's controller stands.
type connState int

const (
	stateListening    connState = iota + 1 // host: waiting for a partner
	stateConnecting                        // connect: dialling
	stateHandshaking                       // securing a new connection
	stateDeciding                          // partner authenticated, we decide
	stateAwaiting                          // we accepted, the partner has not yet
	stateConnected                         // messages flow
	stateDisconnected                      // the partner left or the link broke
	stateClosed                            // the controller stopped
)

// chatScreen is the chat window's content: status line, history pane and
// input. It owns one controller and the one goroutine reading its events.
type chatScreen struct {
	u    *UI
	ctrl session.Controller
	role role
	// target is the port a host listens on, or the address a connect side dials.
	target string
	// dial is what a connect side dialed: addresses, and the contact or
	// invite whose key must answer.
	dial session.Target

	state     connState
	partner   *session.Partner
	listenMsg string
	peerAddr  string // the address being secured
	closing   atomic.Bool
	done      chan struct{} // closed when the event reader has stopped
	dialog    dialog.Dialog // the open trust dialog, if any
	savedAddr bool

	content    fyne.CanvasObject
	status     *widget.Label
	statusIcon *widget.Icon
	action     *widget.Button
	newChat    *widget.Button
	past       *widget.Button
	settings   *widget.Button
	wireToggle *widget.Check
	partnerBox *fyne.Container
	trustBox   *fyne.Container
	partnerLbl *widget.Label
	safety     *widget.Label
	trust      *widget.Label
	verify     *widget.Button
	messages   *messageList
	waiting    *fyne.Container
	activity   *widget.Activity
	waitText   *widget.Label
	waitCancel *widget.Button
	input      *messageEntry
	send       *widget.Button
	hint       *widget.Label
}

func newChatScreen(u *UI, ctrl session.Controller, r role, target string) *chatScreen {
	c := &chatScreen{u: u, ctrl: ctrl, role: r, target: target, done: make(chan struct{})}
	if r == roleHost {
		c.state = stateListening
		c.listenMsg = "Waiting for a partner on port " + target + "…"
	} else {
		c.state = stateConnecting
	}

	c.status = widget.NewLabel("")
	c.status.Truncation = fyne.TextTruncateEllipsis
	c.status.TextStyle.Bold = true
	c.statusIcon = widget.NewIcon(theme.MediaRecordIcon())
	c.action = widget.NewButton("", c.actionTapped)
	c.newChat = widget.NewButtonWithIcon("New chat", theme.ContentAddIcon(), c.newChatTapped)
	c.past = widget.NewButtonWithIcon("Past chats", theme.HistoryIcon(), func() {
		u.showHistory()
		c.focusInput() // for when the user comes back to this window
	})
	c.settings = widget.NewButtonWithIcon("", theme.SettingsIcon(), u.showSettings)
	c.wireToggle = widget.NewCheck("What the network sees", func(on bool) {
		c.messages.setShowWire(on)
		c.focusInput()
	})

	c.partnerLbl = widget.NewLabel("")
	c.partnerLbl.TextStyle.Bold = true
	c.safety = widget.NewLabel("")
	c.safety.TextStyle.Monospace = true
	c.safety.SizeName = theme.SizeNameCaptionText
	c.trust = widget.NewLabel("")
	c.verify = widget.NewButtonWithIcon("Verify", theme.ConfirmIcon(), c.showVerify)
	safetyCaption := widget.NewLabel("Safety number")
	safetyCaption.SizeName = theme.SizeNameCaptionText
	// the safety number is two lines of six groups, so that all of it is
	// readable down to the window's minimum width
	c.partnerBox = container.NewBorder(nil, nil, c.partnerLbl, container.NewHBox(safetyCaption, c.safety))
	c.partnerBox.Hide()
	c.trustBox = container.NewHBox(c.trust, c.verify)
	c.trustBox.Hide()

	// Three rows: the tools and the connection's action, right-aligned
	// where they always were; the state of the connection with the
	// partner's trust; who the partner is with the safety number. The
	// status has most of a row, so that it stays readable at the minimum
	// width.
	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, container.NewHBox(c.wireToggle, c.past, c.newChat, c.action)),
		container.NewBorder(nil, nil, c.statusIcon, c.trustBox, c.status),
		c.partnerBox,
		widget.NewSeparator(),
	)

	c.messages = newMessageList(c.retry)
	c.messages.onAction = c.focusInput
	c.messages.window = u.win
	c.messages.openURL = func(l *url.URL) error { return c.u.openURL(l) }
	c.waitText = widget.NewLabel("")
	c.waitText.Alignment = fyne.TextAlignCenter
	c.waitText.Wrapping = fyne.TextWrapWord
	c.waitCancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), c.cancelTapped)
	c.activity = widget.NewActivity()
	c.waiting = container.NewCenter(fixedWidth(460, container.NewVBox(
		container.NewCenter(c.activity), c.waitText, container.NewCenter(c.waitCancel))))

	c.input = newMessageEntry(c.sendTapped)
	c.input.onChange = func(string) { c.updateSend() }
	c.send = widget.NewButtonWithIcon("Send", theme.MailSendIcon(), c.sendTapped)
	c.send.Importance = widget.HighImportance
	c.hint = widget.NewLabel("")
	c.hint.SizeName = theme.SizeNameCaptionText
	c.hint.Importance = widget.WarningImportance
	c.hint.Hide()
	bottom := container.NewVBox(widget.NewSeparator(), c.hint,
		container.NewBorder(nil, nil, c.settings, c.send, c.input))

	c.content = container.New(minSizeLayout{chatMinSize},
		container.NewBorder(top, bottom, nil, nil, container.NewStack(c.messages, c.waiting)))
	c.refresh()
	return c
}

// start begins reading the controller's events.
func (c *chatScreen) start() {
	go c.readEvents()
}

// readEvents is the one goroutine per controller: every event is handled on
// the UI goroutine, in order, through fyne.Do.
func (c *chatScreen) readEvents() {
	defer close(c.done)
	for ev := range c.ctrl.Events() {
		if c.closing.Load() {
			if ev.Kind == session.EventClosed {
				return
			}
			continue // the window is going away: only drain
		}
		if ev.Kind == 0 {
			continue
		}
		fyne.Do(func() { c.handle(ev) })
		if ev.Kind == session.EventClosed {
			return
		}
	}
}

func (c *chatScreen) partnerName() string {
	if c.partner != nil && c.partner.Label() != "" {
		return c.partner.Label()
	}
	return "your partner"
}

// handle applies one controller event; it runs on the UI goroutine.
func (c *chatScreen) handle(ev session.Event) {
	if c.state == stateClosed {
		return
	}
	switch ev.Kind {
	case session.EventListening:
		c.state = stateListening
		if len(ev.Addrs) > 0 {
			c.listenMsg = "Waiting for a partner. They can connect to " + strings.Join(ev.Addrs, "  or  ")
		} else {
			c.listenMsg = "Waiting for a partner on " + ev.Addr + "…"
		}
	case session.EventHandshaking:
		c.state = stateHandshaking
		c.peerAddr = ev.Addr
	case session.EventPartnerRequest:
		c.partner = ev.Partner
		c.state = stateDeciding
		c.decide(ev.Partner)
	case session.EventWaitingForPartner:
		if ev.Partner != nil {
			c.partner = ev.Partner
		}
		c.state = stateAwaiting
	case session.EventConnected:
		if ev.Partner != nil {
			c.partner = ev.Partner
		}
		c.state = stateConnected
		c.closeDialog()
		c.system(fmt.Sprintf("Connected to %s. Messages are end-to-end encrypted.", c.partnerName()), noteInfo)
		c.u.win.Canvas().Focus(c.input)
		if c.role == roleConnect && !c.savedAddr && c.u.vault != nil {
			c.savedAddr = true
			v, addr := c.u.vault, c.target
			c.u.async(func() { // a vault write: off the UI goroutine
				if err := v.AddRecentAddr(addr); err != nil {
					c.u.showError(fmt.Errorf("could not remember the address: %w", err))
				}
			})
		}
	case session.EventMessage:
		c.message(ev.Message)
	case session.EventDelivered:
		if r, ok := c.messages.byID[ev.ID]; ok {
			r.status = statusDelivered
			c.messages.changed(ev.ID)
		}
	case session.EventFailed:
		if r, ok := c.messages.byID[ev.ID]; ok {
			r.status = statusFailed
			r.reason = ev.Reason
			c.messages.changed(ev.ID)
		}
	case session.EventDisconnected:
		c.closeDialog()
		reason := ev.Reason
		if reason == "" {
			reason = "Disconnected"
		}
		c.system(reason, noteWarning)
		c.state = stateDisconnected
	case session.EventTurnedAway:
		c.system(fmt.Sprintf("Someone else tried to connect from %s and was told you are busy.", ev.Addr), noteInfo)
	case session.EventHistoryError:
		msg := "This chat is not being saved"
		if ev.Err != nil {
			msg += ": " + ev.Err.Error()
		}
		c.system(msg, noteDanger)
		c.u.showError(fmt.Errorf("%s", msg))
	case session.EventError:
		if ev.Err != nil {
			c.system(ev.Err.Error(), noteDanger)
			if c.state != stateConnected {
				c.u.showError(ev.Err)
			}
		}
	case session.EventClosed:
		c.closeDialog()
		c.state = stateClosed
	}
	c.refresh()
}

// decide applies the trust policy to a partner request: keys decide,
// never names. Contacts are let in; a key never seen before is asked about
// on both sides; a changed key is blocked with a warning.
func (c *chatScreen) decide(p *session.Partner) {
	switch p.Trust {
	case session.TrustChanged:
		c.showChangedKey(p)
	case session.TrustNew:
		c.showRequest(p)
	default:
		c.accept()
	}
}

// accept and decline tell the controller; accepting saves the contact and
// opens the history (vault writes), so both run off the UI goroutine.
func (c *chatScreen) accept() {
	ctrl := c.ctrl
	c.u.async(func() {
		if err := ctrl.Accept(); err != nil {
			c.u.showError(err)
		}
	})
}

func (c *chatScreen) decline() {
	ctrl := c.ctrl
	c.u.async(func() {
		if err := ctrl.Decline(); err != nil {
			c.u.showError(err)
		}
	})
}

// message shows a sent or received message.
func (c *chatScreen) message(m *session.Message) {
	if m == nil {
		return
	}
	if r, ok := c.messages.byID[m.ID]; ok { // our own, already shown by Send
		r.wire = m.Wire
		if !m.Time.IsZero() {
			r.time = m.Time
		}
		c.messages.changed(m.ID)
		return
	}
	r := &row{kind: rowMessage, id: m.ID, outgoing: m.Outgoing, from: m.From, text: m.Text, time: m.Time, wire: m.Wire}
	if m.Outgoing {
		r.status = statusSending
	}
	c.messages.add(r)
	if !m.Outgoing {
		c.u.notifyMessage(m.From, m.Text)
	}
}

// chatMinSize is the smallest the chat window gets: the header's rows and
// the input keep a few messages' room between them.
var chatMinSize = fyne.NewSize(600, 460)

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

// system adds a centred line to the history pane.
func (c *chatScreen) system(text string, level noteLevel) {
	c.messages.add(&row{kind: rowSystem, text: text, level: level, time: clock()})
}

func (c *chatScreen) sendTapped() {
	// surrounding blanks are never meant (a Space that pressed a dialog
	// button also reaches the input as a character)
	text := strings.TrimSpace(c.input.Text)
	switch {
	case text == "":
		c.setHint("")
		return
	case c.state != stateConnected:
		c.setHint("Not connected: the message stays here until your partner is connected.")
		return
	}
	id, err := c.ctrl.Send(text)
	if err != nil {
		c.setHint("Not sent: " + err.Error())
		return
	}
	c.setHint("")
	c.input.SetText("")
	if _, ok := c.messages.byID[id]; !ok {
		name := "You"
		if c.u.vault != nil {
			name = c.u.vault.Name()
		}
		c.messages.add(&row{kind: rowMessage, id: id, outgoing: true, from: name, text: text,
			time: clock(), status: statusSending})
	}
	c.messages.scrollToNewest() // what one sends, one wants to see
	c.u.win.Canvas().Focus(c.input)
}

// focusInput gives the keyboard focus to the message input; the chat
// window's controls call it once used, so that a message typed after
// ticking a box or pressing Retry is not typed into nothing.
func (c *chatScreen) focusInput() {
	if c.u.chat != c || c.state == stateClosed {
		return
	}
	c.u.win.Canvas().Focus(c.input)
}

func (c *chatScreen) setHint(s string) {
	if s == "" {
		c.hint.Hide()
		return
	}
	c.hint.SetText(s)
	c.hint.Show()
}

func (c *chatScreen) retry(id string) {
	r, ok := c.messages.byID[id]
	if !ok || r.status != statusFailed {
		return
	}
	// the controller sends it now, or on the next connection with the
	// same partner
	if err := c.ctrl.Retry(id); err != nil {
		c.setHint("Not sent again: " + err.Error())
		return
	}
	r.status, r.reason = statusSending, ""
	c.messages.changed(id)
}

func (c *chatScreen) updateSend() {
	if c.state == stateConnected && strings.TrimSpace(c.input.Text) != "" {
		c.send.Enable()
	} else {
		c.send.Disable()
	}
}

// refresh shows the state in the status line, buttons and title.
func (c *chatScreen) refresh() {
	name := c.partnerName()
	var status string
	icon := theme.MediaRecordIcon()
	switch c.state {
	case stateListening:
		status = "Waiting for a partner on port " + c.target
		icon = theme.HomeIcon()
	case stateConnecting:
		status = "Connecting to " + c.target + "…"
		icon = theme.ViewRefreshIcon()
	case stateHandshaking:
		status = "Securing the connection…"
		icon = theme.ViewRefreshIcon()
	case stateDeciding:
		status = name + " wants to chat"
		if c.partner != nil && c.partner.Trust == session.TrustChanged {
			status = name + "'s key has changed"
		}
		icon = theme.QuestionIcon()
	case stateAwaiting:
		status = "Waiting for " + name + " to accept…"
		icon = theme.QuestionIcon()
	case stateConnected:
		status = "Connected to " + name + " · encrypted"
		icon = theme.ConfirmIcon()
	case stateDisconnected:
		status = "Not connected"
		icon = theme.WarningIcon()
		if c.role == roleHost {
			status = "Not connected · still listening on port " + c.target
		}
	case stateClosed:
		status = "Closed"
		icon = theme.CancelIcon()
	}
	c.status.SetText(status)
	c.statusIcon.SetResource(icon)

	switch c.state {
	case stateListening, stateConnecting, stateHandshaking:
		c.action.SetText("Cancel")
		c.action.SetIcon(theme.CancelIcon())
	case stateDisconnected:
		if c.role == roleHost {
			c.action.SetText("Wait again")
		} else {
			c.action.SetText("Reconnect")
		}
		c.action.SetIcon(theme.ViewRefreshIcon())
	case stateClosed:
		c.action.SetText("Back")
		c.action.SetIcon(theme.NavigateBackIcon())
	default:
		c.action.SetText("Disconnect")
		c.action.SetIcon(theme.LogoutIcon())
	}

	if c.partner != nil {
		c.partnerLbl.SetText(shorten(c.partner.Label(), 24)) // the title has all of it
		c.safety.SetText(twoLines(c.partner.SafetyNumber))
		switch c.partner.Trust {
		case session.TrustVerified:
			c.trust.SetText("verified")
			c.trust.Importance = widget.SuccessImportance
		case session.TrustChanged:
			c.trust.SetText("KEY CHANGED")
			c.trust.Importance = widget.DangerImportance
		case session.TrustInvited:
			c.trust.SetText("invited")
			c.trust.Importance = widget.SuccessImportance
		case session.TrustNew:
			c.trust.SetText("new, not verified")
			c.trust.Importance = widget.WarningImportance
		default:
			c.trust.SetText("not verified")
			c.trust.Importance = widget.WarningImportance
		}
		c.trust.Refresh()
		c.partnerBox.Show()
		c.trustBox.Show()
	} else {
		c.partnerBox.Hide()
		c.trustBox.Hide()
	}
	c.u.win.SetTitle("SecureChat — " + c.title())
	if c.state == stateConnected && c.partner != nil && c.partner.Trust != session.TrustVerified {
		c.verify.Enable()
	} else {
		c.verify.Disable()
	}

	waiting := len(c.messages.rows) == 0 &&
		(c.state == stateListening || c.state == stateConnecting || c.state == stateHandshaking)
	if waiting {
		c.waitText.SetText(c.detail())
		c.waiting.Show()
		c.activity.Start()
	} else {
		c.waiting.Hide()
		c.activity.Stop()
	}
	if c.state == stateConnected {
		c.hint.Hide()
	}
	c.updateSend()
}

// title is the window title's state: who, and whether connected, so that
// a window in the taskbar or behind others tells it too.
func (c *chatScreen) title() string {
	if c.partner == nil {
		switch {
		case c.state == stateClosed:
			return "closed"
		case c.state == stateHandshaking:
			return "securing the connection"
		case c.role == roleHost:
			return "waiting on port " + c.target
		case c.state == stateDisconnected:
			return "not connected"
		}
		return "connecting to " + c.target
	}
	name := c.partner.Label()
	switch c.state {
	case stateConnected, stateDeciding, stateAwaiting:
		// the status line says whether it is still being decided
		// (scripts/ui-lib.sh waits for this title to accept)
		return name
	case stateConnecting, stateHandshaking:
		return "reconnecting to " + name
	case stateListening:
		return name + " (waiting)"
	case stateClosed:
		return name + " (closed)"
	}
	return name + " (not connected)"
}

// detail is the longer text of the waiting panel.
func (c *chatScreen) detail() string {
	switch c.state {
	case stateListening:
		return c.listenMsg
	case stateHandshaking:
		if c.peerAddr != "" {
			return "Securing the connection with " + c.peerAddr + "…"
		}
		return "Securing the connection…"
	}
	return c.status.Text
}

func (c *chatScreen) actionTapped() {
	defer c.focusInput()
	switch c.state {
	case stateListening, stateConnecting, stateHandshaking, stateClosed:
		c.cancelTapped()
	case stateDisconnected:
		if c.role == roleHost {
			// the host kept listening: waiting again is a state of mind
			c.state = stateListening
			c.refresh()
			return
		}
		c.state = stateConnecting
		c.refresh()
		t := c.dial
		if len(t.Addrs) == 0 {
			t.Addrs = []string{c.target}
		}
		if c.partner != nil && c.partner.Fingerprint != "" {
			// whoever we reached is a contact now (an invite is used up):
			// reconnecting expects that key
			t = session.Target{Addrs: t.Addrs, Contact: c.partner.Fingerprint}
		}
		if err := c.ctrl.DialTarget(t); err != nil {
			c.state = stateDisconnected
			c.refresh()
			c.u.showError(err)
		}
	default:
		if err := c.ctrl.Disconnect(); err != nil {
			c.u.showError(err)
		}
	}
}

func (c *chatScreen) cancelTapped() {
	c.u.leaveChat()
}

func (c *chatScreen) newChatTapped() {
	if c.state != stateConnected && c.state != stateAwaiting {
		c.u.leaveChat()
		return
	}
	dialog.ShowConfirm("Leave this chat?",
		fmt.Sprintf("You are connected to %s. Start a new chat and disconnect?", c.partnerName()),
		func(ok bool) {
			if ok {
				c.u.leaveChat()
				return
			}
			c.focusInput()
		}, c.u.win)
}

func (c *chatScreen) closeDialog() {
	if c.dialog != nil {
		c.dialog.Hide()
		c.dialog = nil
	}
}

// close stops the controller without blocking the UI goroutine.
func (c *chatScreen) close() {
	c.closeDialog()
	c.closing.Store(true)
	c.state = stateClosed
	ctrl := c.ctrl
	c.u.async(func() {
		if err := ctrl.Close(); err != nil {
			c.u.showError(err)
		}
	})
}

// closeWait stops the controller and waits for the event reader, for when
// the app is exiting.
func (c *chatScreen) closeWait() {
	c.closing.Store(true)
	_ = c.ctrl.Close()
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
	}
}
