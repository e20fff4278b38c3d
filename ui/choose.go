package ui

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transport"
)

// DefaultPort is where a host listens unless told otherwise, as in the paper.
var DefaultPort = strconv.Itoa(transport.DefaultPort)

// chooseScreen is the Host or Connect dialog.
type chooseScreen struct {
	u       *UI
	content fyne.CanvasObject

	hostPort    *widget.Entry
	hostAddrs   *widget.Label
	hostErr     *widget.Label
	hostButton  *widget.Button
	addr        *widget.SelectEntry
	connectPort *widget.Entry
	connectErr  *widget.Label
	connButton  *widget.Button
	pastButton  *widget.Button

	onlyContacts  *widget.Check
	inviteButton  *widget.Button
	useInviteBtn  *widget.Button
	contacts      *widget.Select
	contactButton *widget.Button
	contactErr    *widget.Label
	contactIDs    map[string]Contact

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
	s.updateAddrs()
	s.hostButton = widget.NewButtonWithIcon("Host", theme.HomeIcon(), s.host)
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
	hostIntro := widget.NewLabel("Wait here for your partner to connect to this computer.")
	hostIntro.Wrapping = fyne.TextWrapWord
	hostCard := widget.NewCard("Host", "", container.NewVBox(
		hostIntro,
		widget.NewForm(widget.NewFormItem("Port", s.hostPort)),
		s.hostAddrs, s.onlyContacts, s.hostErr, container.NewHBox(s.hostButton, s.inviteButton)))

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
			if h, p, err := net.SplitHostPort(text); err == nil && h != "" && p != "" {
				s.addr.SetText(h)
				s.connectPort.SetText(p)
			}
		}
	}
	s.connectPort = widget.NewEntry()
	s.connectPort.SetText(DefaultPort)
	s.connectPort.OnSubmitted = func(string) { s.connect() }
	s.connectErr = errLabel()
	s.connButton = widget.NewButtonWithIcon("Connect", theme.MailSendIcon(), s.connect)
	s.connButton.Importance = widget.HighImportance
	connIntro := widget.NewLabel("Connect to a partner who is hosting.")
	connIntro.Wrapping = fyne.TextWrapWord
	s.useInviteBtn = widget.NewButtonWithIcon("Connect with an invite…", theme.MailAttachmentIcon(), func() { s.showUseInvite("") })
	connectBox := container.NewVBox(connIntro,
		widget.NewForm(widget.NewFormItem("Address", s.addr), widget.NewFormItem("Port", s.connectPort)),
		s.connectErr, container.NewHBox(s.connButton, s.useInviteBtn))
	if contacts := s.contactList(); len(contacts) > 0 {
		s.contactErr = errLabel()
		s.contacts = widget.NewSelect(contacts, nil)
		s.contacts.PlaceHolder = "Pick a contact"
		s.contactButton = widget.NewButtonWithIcon("Connect", theme.MailSendIcon(), s.connectContact)
		connectBox.Add(widget.NewSeparator())
		connectBox.Add(container.NewBorder(nil, nil, widget.NewLabel("Contact"), s.contactButton, s.contacts))
		connectBox.Add(s.contactErr)
	}
	connectCard := widget.NewCard("Connect", "", connectBox)

	name := "you"
	if u.vault != nil {
		name = u.vault.Name()
	}
	hello := canvas.NewText("Signed in as "+name, theme.Color(theme.ColorNameForeground))
	hello.TextStyle.Bold = true
	hello.TextSize = theme.TextSubHeadingSize()
	hello.Alignment = fyne.TextAlignCenter
	s.pastButton = widget.NewButtonWithIcon("Past chats", theme.HistoryIcon(), u.showHistory)
	s.content = container.NewPadded(container.NewBorder(
		container.NewVBox(hello, widget.NewLabelWithStyle("Choose how to start the chat.", fyne.TextAlignCenter, fyne.TextStyle{})),
		container.NewHBox(s.pastButton),
		nil, nil,
		container.NewCenter(fixedWidth(780, container.NewGridWithColumns(2, hostCard, connectCard)))))
	return s
}

func (s *chooseScreen) updateAddrs() {
	var addrs []string
	if s.u.backend.LocalAddrs != nil {
		addrs = s.u.backend.LocalAddrs()
	}
	port := strings.TrimSpace(s.hostPort.Text)
	if len(addrs) == 0 {
		s.hostAddrs.SetText("")
		return
	}
	for i, a := range addrs {
		addrs[i] = net.JoinHostPort(a, port)
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
	ctrl, err := s.u.backend.Host(s.u.vault, ":"+port)
	if showInline(s.hostErr, err) {
		return
	}
	if v := s.u.vault; v != nil {
		n, _ := strconv.Atoi(port)
		s.u.async(func() { // remembered for next time: a vault write
			st := v.Settings()
			if st.ListenPort != n {
				st.ListenPort = n
				_ = v.SaveSettings(st)
			}
		})
	}
	s.u.startChat(newChatScreen(s.u, ctrl, roleHost, port))
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

// dial connects to t and shows the chat; label names it for the user.
func (s *chooseScreen) dial(t session.Target, label string, errLabel *widget.Label) bool {
	ctrl, err := s.u.backend.Connect(s.u.vault, t)
	if showInline(errLabel, err) {
		return false
	}
	c := newChatScreen(s.u, ctrl, roleConnect, label)
	c.dial = t
	s.u.startChat(c)
	return true
}

// inputError is a message for the user about what they typed, shown inline
// as a whole sentence.
type inputError string

func (e inputError) Error() string { return string(e) }

// inputErrorf formats an [inputError].
func inputErrorf(format string, args ...any) error {
	return inputError(fmt.Sprintf(format, args...))
}

// contactList names the contacts for the picker: the name the user gave
// each, with the start of its key where two share a name.
func (s *chooseScreen) contactList() []string {
	if s.u.vault == nil {
		return nil
	}
	s.contactIDs = map[string]Contact{}
	var out []string
	for _, c := range s.u.vault.Contacts() {
		label := c.Name
		if _, dup := s.contactIDs[label]; dup || len(c.Addrs) == 0 {
			label = fmt.Sprintf("%s (%s…)", c.Name, c.ID[:8])
		}
		if len(c.Addrs) == 0 {
			continue // reached only as a caller: no address to dial
		}
		s.contactIDs[label] = c
		out = append(out, label)
	}
	return out
}

// connectContact dials the picked contact at its addresses; only its key
// is accepted.
func (s *chooseScreen) connectContact() {
	c, ok := s.contactIDs[s.contacts.Selected]
	if !ok {
		showInline(s.contactErr, inputError("Pick a contact first."))
		return
	}
	s.dial(session.Target{Addrs: c.Addrs, Contact: c.ID}, c.Name, s.contactErr)
}

// setOnlyContacts saves the host's admission choice.
func (s *chooseScreen) setOnlyContacts(on bool) {
	v := s.u.vault
	if v == nil {
		return
	}
	s.u.async(func() {
		st := v.Settings()
		st.OnlyContacts = on
		if err := v.SaveSettings(st); err != nil {
			s.u.showError(fmt.Errorf("could not save the setting: %w", err))
		}
	})
}
