package ui

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transport"
)

// DefaultPort is where a host listens unless told otherwise, as in the paper.
var DefaultPort = strconv.Itoa(transport.DefaultPort)

// chooseScreen is the New chat dialog, also shown at the first start:
// Connect (an address, with the last one filled in, or an invite) and
// Host (listen on a port, remembered; invite someone). A connection
// started here shows its progress and, if it fails, why in plain words,
// with the address kept for another try.
type chooseScreen struct {
	u       *UI
	content fyne.CanvasObject
	dialog  *dialog.CustomDialog
	tabs    *container.AppTabs

	hostPort    *widget.Entry
	hostAddrs   *widget.Label
	hostErr     *widget.Label
	hostButton  *widget.Button
	addr        *widget.SelectEntry
	connectPort *widget.Entry
	connectErr  *widget.Label
	errDetails  *widget.Button
	connButton  *widget.Button

	// while a connection started here is under way
	dialing    session.LinkID
	progressBx *fyne.Container
	progressLb *widget.Label
	activity   *widget.Activity
	cancel     *widget.Button
	lastErr    error

	onlyContacts *widget.Check
	inviteButton *widget.Button
	useInviteBtn *widget.Button

	// the open invite dialogs' widgets, for tests
	inviteExpiry  *widget.Select
	inviteUses    *widget.Select
	inviteCode    *widget.Entry
	inviteCopy    *widget.Button
	inviteEntry   *widget.Entry
	inviteErr     *widget.Label
	inviteConnect *widget.Button
}

func newChooseScreen(u *UI) *chooseScreen {
	s := &chooseScreen{u: u}
	errLabel := func() *widget.Label {
		l := widget.NewLabel("")
		l.Importance = widget.DangerImportance
		l.Wrapping = fyne.TextWrapWord
		l.Hide()
		return l
	}

	// Host
	s.hostPort = widget.NewEntry()
	s.hostPort.SetText(DefaultPort)
	s.hostPort.OnSubmitted = func(string) { s.host() }
	s.hostErr = errLabel()
	s.hostAddrs = widget.NewLabel("")
	s.hostAddrs.Wrapping = fyne.TextWrapWord
	s.hostPort.OnChanged = func(string) { s.updateAddrs() }
	s.hostButton = widget.NewButtonWithIcon("Listen", theme.HomeIcon(), s.host)
	s.hostButton.Importance = widget.HighImportance
	s.inviteButton = widget.NewButtonWithIcon("Invite someone…", theme.ContentAddIcon(), s.showMakeInvite)
	s.onlyContacts = widget.NewCheck("Let in only my contacts and people I invite", s.setOnlyContacts)
	if u.vault != nil {
		st := u.vault.Settings()
		s.onlyContacts.Checked = st.OnlyContacts
		if st.ListenPort != 0 {
			s.hostPort.SetText(strconv.Itoa(st.ListenPort))
		}
	}
	if m := u.main; m != nil && m.listening {
		s.hostPort.SetText(m.listenPort)
		s.hostButton.SetText("Listening")
		s.hostButton.Disable()
	}
	s.updateAddrs()
	hostIntro := widget.NewLabel("Listen here, so that your contacts and the people you invite can connect to this computer at any time. You can chat while listening.")
	hostIntro.Wrapping = fyne.TextWrapWord
	hostBox := container.NewVBox(
		hostIntro,
		widget.NewForm(widget.NewFormItem("Port", s.hostPort)),
		s.hostAddrs, s.onlyContacts, s.hostErr, container.NewHBox(s.hostButton, s.inviteButton))

	// Connect
	var recent []string
	if u.vault != nil {
		recent = u.vault.RecentAddrs()
		if len(recent) > 5 {
			recent = recent[:5]
		}
	}
	s.addr = widget.NewSelectEntry(recent)
	s.addr.SetPlaceHolder("Partner's address, e.g. 192.168.1.20")
	s.addr.OnSubmitted = func(string) { s.connect() }
	s.addr.OnChanged = func(text string) {
		// picking a recent "host:port" fills both fields; typing "host:port"
		// is split when connecting
		if slices.Contains(recent, text) {
			s.fillAddr(text)
		}
	}
	s.connectPort = widget.NewEntry()
	s.connectPort.SetText(DefaultPort)
	s.connectPort.OnSubmitted = func(string) { s.connect() }
	// the last address tried (this run) or connected to (saved) is filled in
	last := ""
	if u.main != nil && u.main.lastDial != "" {
		last = u.main.lastDial
	} else if len(recent) > 0 {
		last = recent[0]
	}
	if last != "" {
		s.fillAddr(last)
	}
	s.connectErr = errLabel()
	s.errDetails = widget.NewButton("Details", func() { u.showDetails(s.lastErr) })
	s.errDetails.Importance = widget.LowImportance
	s.errDetails.Hide()
	s.connButton = widget.NewButtonWithIcon("Connect", theme.MailSendIcon(), s.connect)
	s.connButton.Importance = widget.HighImportance
	connIntro := widget.NewLabel("Connect to someone who is listening. Contacts you chatted with before are in the list: select one and press Connect there.")
	connIntro.Wrapping = fyne.TextWrapWord
	s.useInviteBtn = widget.NewButtonWithIcon("Connect with an invite…", theme.MailAttachmentIcon(), func() { s.showUseInvite("") })
	s.progressLb = widget.NewLabel("")
	s.progressLb.Wrapping = fyne.TextWrapWord
	s.activity = widget.NewActivity()
	s.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.cancelDial)
	s.progressBx = container.NewBorder(nil, nil, s.activity, s.cancel, s.progressLb)
	s.progressBx.Hide()
	connectBox := container.NewVBox(connIntro,
		widget.NewForm(widget.NewFormItem("Address", s.addr), widget.NewFormItem("Port", s.connectPort)),
		s.progressBx,
		container.NewBorder(nil, nil, nil, s.errDetails, s.connectErr),
		container.NewHBox(s.connButton, s.useInviteBtn))

	s.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Connect", theme.MailSendIcon(), container.NewPadded(connectBox)),
		container.NewTabItemWithIcon("Listen", theme.HomeIcon(), container.NewPadded(hostBox)))
	s.content = fixedWidth(480, s.tabs)
	return s
}

// showChoose opens the New chat dialog (at the first start too).
func (u *UI) showChoose() {
	if u.choose != nil {
		u.choose.focus()
		return
	}
	s := newChooseScreen(u)
	u.choose = s
	closeButton := widget.NewButton("Close", func() { s.dialog.Hide() })
	s.dialog = dialog.NewCustomWithoutButtons("New chat", s.content, u.win)
	s.dialog.SetButtons([]fyne.CanvasObject{closeButton})
	s.dialog.SetOnClosed(func() {
		if u.choose == s {
			u.choose = nil
		}
		if u.main != nil {
			u.main.refreshTitle()
			u.main.focusInput()
		}
	})
	s.dialog.Show()
	if u.main != nil {
		u.main.refreshTitle()
	}
	if StartInvite != "" {
		code := StartInvite
		StartInvite = ""
		s.showUseInvite(code)
		return
	}
	s.focus()
}

// focus gives the keyboard to the address field; a real window ignores a
// focus request for an object it has not placed yet, hence fyne.Do.
func (s *chooseScreen) focus() {
	addr := s.addr
	fyne.Do(func() {
		if s.u.choose == s {
			s.u.win.Canvas().Focus(addr)
		}
	})
}

// close hides the dialog (a connection made here has come through).
func (s *chooseScreen) close() {
	s.dialing = 0
	s.dialog.Hide()
}

func (s *chooseScreen) fillAddr(text string) {
	if h, p, err := net.SplitHostPort(text); err == nil && h != "" && p != "" {
		s.addr.SetText(h)
		s.connectPort.SetText(p)
		return
	}
	s.addr.SetText(text)
}

// updateAddrs says where a partner connects to, as an invite would:
// this computer's addresses, and its onion address with Tor mode.
func (s *chooseScreen) updateAddrs() {
	addrs := s.u.inviteHosts()
	port := strings.TrimSpace(s.hostPort.Text)
	if len(addrs) == 0 {
		s.hostAddrs.SetText("")
		return
	}
	for i, a := range addrs {
		addrs[i] = net.JoinHostPort(a, port)
		if transport.IsOnion(a) {
			addrs[i] += " (through Tor)"
		}
	}
	s.hostAddrs.SetText("Your partner connects to: " + strings.Join(addrs, "  or  "))
}

// parsePort checks a port typed by the user.
func parsePort(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", inputErrorf("Enter a port, for example %s.", DefaultPort)
	}
	n, err := transport.ParsePort(s)
	if err != nil {
		return "", inputErrorf("%q is not a port: use a number from 1 to 65535.", s)
	}
	return strconv.Itoa(n), nil
}

// parseHost checks the partner's address typed by the user.
func parseHost(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if s == "" {
		return "", inputError("Enter your partner's address.")
	}
	if strings.ContainsAny(s, " \t/\\@") {
		return "", inputErrorf("%q is not an address: use a name like alice.local or a number like 192.168.1.20.", s)
	}
	return s, nil
}

func showInline(l *widget.Label, err error) bool {
	if err == nil {
		l.Hide()
		return false
	}
	l.SetText(err.Error())
	l.Show()
	return true
}

func (s *chooseScreen) host() {
	port, err := parsePort(s.hostPort.Text)
	if showInline(s.hostErr, err) {
		s.u.win.Canvas().Focus(s.hostPort)
		return
	}
	m := s.u.main
	if m == nil {
		return
	}
	if m.listening {
		s.dialog.Hide()
		return
	}
	s.hostButton.Disable()
	m.listen(port, func(problem string) {
		s.hostButton.Enable()
		if problem != "" {
			showInline(s.hostErr, inputError(problem))
			return
		}
		s.hostErr.Hide()
		if s.u.choose == s {
			s.dialog.Hide()
		}
	})
}

func (s *chooseScreen) connect() {
	text, portText := strings.TrimSpace(s.addr.Text), s.connectPort.Text
	if h, p, err := net.SplitHostPort(text); err == nil && p != "" {
		text, portText = h, p // "host:port" typed in the address field
	}
	host, err := parseHost(text)
	if showInline(s.connectErr, err) {
		s.u.win.Canvas().Focus(s.addr)
		return
	}
	port, err := parsePort(portText)
	if showInline(s.connectErr, err) {
		s.u.win.Canvas().Focus(s.connectPort)
		return
	}
	target := net.JoinHostPort(host, port)
	s.dial(session.Target{Addrs: []string{target}}, target, s.connectErr)
}

// dial connects to t from this dialog; label names it for the user. The
// dialog stays open with the progress, and closes once connected.
func (s *chooseScreen) dial(t session.Target, label string, errLabel *widget.Label) bool {
	m := s.u.main
	if m == nil {
		return false
	}
	if len(t.Addrs) > 0 && t.InviteKey == "" {
		m.lastDial = t.Addrs[0]
	}
	link, err := m.dialTarget(t, label)
	if err != nil {
		showInline(errLabel, inputError(problemWords("connect", err)))
		return false
	}
	s.connectErr.Hide()
	s.errDetails.Hide()
	errLabel.Hide()
	s.dialing = link
	s.progress("Connecting to " + label + "…")
	return true
}

// progress shows how the connection started here is going.
func (s *chooseScreen) progress(text string) {
	s.progressLb.SetText(text)
	s.progressBx.Show()
	s.activity.Start()
	s.connButton.Disable()
}

// stopped ends the progress of the connection started here.
func (s *chooseScreen) stopped() {
	s.dialing = 0
	s.activity.Stop()
	s.progressBx.Hide()
	s.connButton.Enable()
}

// failed shows why the connection started here failed, keeping the
// address for another try; err is shown only on "Details".
func (s *chooseScreen) failed(words string, err error) {
	s.stopped()
	s.lastErr = err
	showInline(s.connectErr, inputError(words))
	if err != nil {
		s.errDetails.Show()
	} else {
		s.errDetails.Hide()
	}
	s.tabs.SelectIndex(0)
}

func (s *chooseScreen) cancelDial() {
	if s.dialing != 0 && s.u.main != nil {
		_ = s.u.main.ctrl.Cancel(s.dialing)
	}
}

// inputError is a message for the user about what they typed, shown inline
// as a whole sentence.
type inputError string

func (e inputError) Error() string { return string(e) }

// inputErrorf formats an [inputError].
func inputErrorf(format string, args ...any) error {
	return inputError(fmt.Sprintf(format, args...))
}

// setOnlyContacts saves the host's admission choice.
func (s *chooseScreen) setOnlyContacts(on bool) {
	v := s.u.vault
	if v == nil {
		return
	}
	if m := s.u.main; m != nil {
		m.ctrl.SetOnlyContacts(on)
	}
	s.u.async(func() {
		st := v.Settings()
		st.OnlyContacts = on
		if err := v.SaveSettings(st); err != nil {
			s.u.showProblem("Could not save the setting.", err)
		}
	})
}
