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
)

// DefaultPort is where a host listens unless told otherwise, as in the paper.
const DefaultPort = "9999"

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
	hostIntro := widget.NewLabel("Wait here for your partner to connect to this computer.")
	hostIntro.Wrapping = fyne.TextWrapWord
	hostCard := widget.NewCard("Host", "", container.NewVBox(
		hostIntro,
		widget.NewForm(widget.NewFormItem("Port", s.hostPort)),
		s.hostAddrs, s.hostErr, s.hostButton))

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
	connectCard := widget.NewCard("Connect", "", container.NewVBox(
		connIntro,
		widget.NewForm(widget.NewFormItem("Address", s.addr), widget.NewFormItem("Port", s.connectPort)),
		s.connectErr, s.connButton))

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
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
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
	ctrl, err := s.u.backend.Connect(s.u.vault, target)
	if showInline(s.connectErr, err) {
		return
	}
	s.u.startChat(newChatScreen(s.u, ctrl, roleConnect, target))
}

// inputError is a message for the user about what they typed, shown inline
// as a whole sentence.
type inputError string

func (e inputError) Error() string { return string(e) }

// inputErrorf formats an [inputError].
func inputErrorf(format string, args ...any) error {
	return inputError(fmt.Sprintf(format, args...))
}
