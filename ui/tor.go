package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tormode"
	"github.com/securechat/securechat/transport"
)

// Tor mode, as the messenger runs it: the settings say whether it is on;
// the messenger starts the profile's Tor mode ([Backend.Tor]), hands its
// dialer to the controller, publishes the onion service while listening,
// and shows tor's progress under the listening row. Off means no tor
// process: the mode is closed and the controller has no dialer.

// torInstallHint says what to install when the tor program is missing.
const torInstallHint = "Tor mode needs the tor program. On Debian or Ubuntu: sudo apt install tor. On Windows: the Tor Expert Bundle's tor.exe — choose it in Settings."

// errTorStarting is what a dial through tor meets while the mode is being
// made.
var errTorStarting = errors.New("ui: Tor mode is still starting")

// torState is Tor mode's part of the messenger.
type torState struct {
	// what the settings say, as applied
	on, only bool
	path     string

	mode   TorMode        // the running mode; nil while off or being made
	err    error          // why the mode could not be made
	status tormode.Status // the newest status shown
	port   int            // the listener's port, to publish (0: not listening)
	gen    int            // counts starts and stops: a late start of an earlier one is dropped

	box      *fyne.Container // the status row; hidden while Tor mode is off
	icon     *widget.Icon
	label    *widget.Label
	bar      *widget.ProgressBar
	address  *widget.Button // shows the onion address, once reachable
	retry    *widget.Button // starts tor again after a failure
	addrShow *widget.Label  // the address dialog's text, while open
}

// torOnly reports whether contacts reach us only through Tor: listening
// on this computer only, inviting with the onion address only, dialing
// only .onion addresses.
func (t *torState) torOnly() bool { return t.on && t.only }

// onion is our onion address, "" while there is none.
func (t *torState) onion() string {
	if t.mode == nil {
		return ""
	}
	return t.mode.Onion()
}

// buildTor makes the Tor status row of the sidebar.
func (m *messenger) buildTor() fyne.CanvasObject {
	t := &m.tor
	t.icon = widget.NewIcon(nil)
	t.label = widget.NewLabel("")
	t.label.Wrapping = fyne.TextWrapWord
	t.label.SizeName = theme.SizeNameCaptionText
	t.bar = widget.NewProgressBar()
	t.address = widget.NewButton("Address", m.showOnion)
	t.retry = widget.NewButtonWithIcon("Try again", theme.ViewRefreshIcon(), m.retryTor)
	// A failure's words take the whole width, Try again below them.
	t.box = container.NewVBox(
		container.NewBorder(nil, nil, t.icon, t.address, t.label),
		t.bar, container.NewHBox(t.retry))
	return t.box
}

// refreshTor shows Tor mode's state in the sidebar.
func (m *messenger) refreshTor() {
	t := &m.tor
	if !t.on {
		t.box.Hide()
		return
	}
	t.box.Show()
	st := t.status
	t.bar.Hide()
	t.address.Hide()
	t.retry.Hide()
	busy := theme.ViewRefreshIcon()
	switch {
	case t.err != nil || st.State == tormode.Failed:
		err := t.err
		if err == nil {
			err = st.Err
		}
		t.label.SetText(m.torFailWords(err))
		t.icon.SetResource(theme.NewErrorThemedResource(theme.WarningIcon()))
		t.retry.Show()
	case st.State == tormode.Bootstrapping:
		text := fmt.Sprintf("Tor: connecting… %d%%", st.Progress.Percent)
		if s := st.Progress.Summary; s != "" {
			text += " — " + s
		}
		if st.Progress.Warning != "" {
			// tor's words here are codes ("DONE", "NOROUTE"): not for the user
			text += ". Trouble reaching the Tor network: is this computer online?"
		}
		t.label.SetText(text)
		t.icon.SetResource(busy)
		t.bar.SetValue(float64(st.Progress.Percent) / 100)
		t.bar.Show()
	case st.State == tormode.Ready && st.Reachable:
		t.label.SetText("Reachable through Tor")
		t.icon.SetResource(theme.NewSuccessThemedResource(theme.MediaRecordIcon()))
		t.address.Show()
	case st.State == tormode.Ready && t.port != 0:
		t.label.SetText("Tor connected — publishing your onion address…")
		t.icon.SetResource(busy)
	case st.State == tormode.Ready:
		t.label.SetText("Tor connected — listen to be reachable")
		t.icon.SetResource(theme.NewDisabledResource(theme.MediaRecordIcon()))
	default: // being made, or starting
		t.label.SetText("Tor: starting…")
		t.icon.SetResource(busy)
		t.bar.SetValue(0)
		t.bar.Show()
	}
	if t.addrShow != nil {
		t.addrShow.SetText(m.onionAddr())
	}
}

// torFailWords says why Tor mode is not running, for the user: what to
// install when tor is missing, else tor's own words.
func (m *messenger) torFailWords(err error) string {
	switch {
	case err == nil:
		return "Tor stopped."
	case errors.Is(err, tormode.ErrNoTor) && m.tor.path != "":
		// the user has tor somewhere: where it is, not what to install
		return "There is no tor program at " + m.tor.path + ". Choose it again in Settings, or clear the path to find tor by itself."
	case errors.Is(err, tormode.ErrNoTor):
		return torInstallHint
	}
	return "Tor did not start: " + err.Error()
}

// setTor applies Tor mode's settings: it starts or stops tor, restarts
// it for another tor program, and gives the controller its dialer. A
// change of "only through Tor" moves the listener to or from this
// computer only.
func (m *messenger) setTor(on, only bool, path string) {
	t := &m.tor
	wasOn, wasOnly, wasPath := t.on, t.torOnly(), t.path
	t.on, t.only, t.path = on, only, path
	switch {
	case !on && wasOn:
		m.stopTor()
	case on && (!wasOn || path != wasPath):
		if wasOn {
			m.stopTor()
		}
		m.startTor(nil)
	case on && t.torOnly() != wasOnly:
		m.ctrl.SetOnionDialer(m.torDialer(), t.torOnly())
	}
	if t.torOnly() != wasOnly && m.listening {
		m.startListening(m.listenPort, true, nil)
	}
	m.refreshTor()
	m.refreshListening()
	if c := m.u.choose; c != nil {
		c.updateAddrs()
	}
}

// torDialer is the controller's dialer for .onion addresses: the mode's,
// or one that says why there is none, so that a .onion fails in words and
// Tor-only mode dials nothing directly while tor is not running.
func (m *messenger) torDialer() session.OnionDialer {
	t := &m.tor
	if t.mode != nil {
		return t.mode.Dial
	}
	err := t.err
	if err == nil {
		err = errTorStarting
	}
	return func(context.Context, string) (net.Conn, error) { return nil, err }
}

// startTor makes the profile's Tor mode (off the UI goroutine: the first
// time, the onion key is made and saved). then, if set, runs on the UI
// goroutine once the controller has the mode's dialer, or the reason
// there is none.
func (m *messenger) startTor(then func()) {
	t := &m.tor
	t.gen++
	gen := t.gen
	t.mode, t.err, t.status = nil, nil, tormode.Status{State: tormode.Starting}
	// Until the mode is made, a dial through tor fails and, in Tor-only
	// mode, nothing is dialed directly.
	m.ctrl.SetOnionDialer(m.torDialer(), t.torOnly())
	start, dir, v := m.u.backend.Tor, m.u.dir, m.u.vault
	st := profile.Settings{Tor: true, TorOnly: t.only, TorPath: t.path}
	m.u.async(func() {
		var mode TorMode
		err := errors.New("this SecureChat was built without Tor mode")
		if start != nil && v != nil {
			mode, err = start(dir, v, st)
		}
		fyne.Do(func() {
			current := t.gen == gen && !m.closed
			if !current && mode != nil {
				m.u.async(mode.Close) // turned off meanwhile
			}
			if current {
				m.torStarted(mode, err)
			}
			if then != nil && !m.closed {
				then()
			}
		})
	})
}

// torStarted takes the mode made (or why it could not be) on the UI
// goroutine: the controller gets its dialer, the listener is published,
// and its status is followed.
func (m *messenger) torStarted(mode TorMode, err error) {
	t := &m.tor
	if mode == nil && err == nil {
		err = errors.New("no Tor mode was made")
	}
	t.mode, t.err = mode, err
	m.ctrl.SetOnionDialer(m.torDialer(), t.torOnly())
	if mode != nil {
		st := mode.Status()
		t.status = st
		if t.port != 0 {
			mode.Publish(t.port)
		}
		go m.followTor(mode, st)
	}
	m.refreshTor()
	if c := m.u.choose; c != nil {
		c.updateAddrs()
	}
}

// followTor shows each new status of mode until it is closed. An
// unchanged status redraws nothing.
func (m *messenger) followTor(mode TorMode, shown tormode.Status) {
	for st := range mode.Watch() {
		if sameTorStatus(st, shown) || m.closing.Load() {
			continue // unchanged, or the app is going away: only drain
		}
		shown = st
		fyne.Do(func() {
			if m.tor.mode == mode && !m.closed {
				m.tor.status = st
				m.refreshTor()
			}
		})
	}
}

func sameTorStatus(a, b tormode.Status) bool {
	if a.State != b.State || a.Progress != b.Progress || a.Onion != b.Onion || a.Port != b.Port || a.Reachable != b.Reachable {
		return false
	}
	return (a.Err == nil) == (b.Err == nil) && (a.Err == nil || a.Err.Error() == b.Err.Error())
}

// stopTor turns Tor mode off: the controller loses its dialer and tor is
// stopped (off the UI goroutine: Close waits for the process).
func (m *messenger) stopTor() {
	t := &m.tor
	t.gen++
	mode := t.mode
	t.mode, t.err, t.status = nil, nil, tormode.Status{}
	m.ctrl.SetOnionDialer(nil, false)
	if mode != nil {
		m.u.async(mode.Close)
	}
}

// retryTor starts tor again after it failed (the user installed it, or
// chose its path).
func (m *messenger) retryTor() {
	defer m.focusInput()
	if !m.tor.on {
		return
	}
	m.stopTor()
	m.startTor(nil)
	m.refreshTor()
}

// publishTor has the onion service forward to the listener on port, or
// takes it down (port 0). Unpublishing waits for tor: off the UI goroutine.
func (m *messenger) publishTor(port int) {
	t := &m.tor
	was := t.port
	t.port = port
	switch mode := t.mode; {
	case mode == nil:
	case port != 0:
		mode.Publish(port)
	case was != 0:
		m.u.async(mode.Unpublish)
	}
}

// listenAddr is where the listener binds for port: every network of this
// computer, or this computer only when contacts reach us only through Tor
// (tor forwards the onion service to 127.0.0.1).
func (m *messenger) listenAddr(port string) string {
	if m.tor.torOnly() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return ":" + port
}

// onionAddr is our onion address with the listener's port, or without
// a port while not listening.
func (m *messenger) onionAddr() string {
	onion := m.tor.onion()
	if onion == "" {
		return ""
	}
	return net.JoinHostPort(onion, m.listenPort)
}

// showOnion shows our onion address in full, to copy.
func (m *messenger) showOnion() {
	addr := m.onionAddr()
	if addr == "" {
		return
	}
	text := widget.NewLabel(addr)
	text.Wrapping = fyne.TextWrapBreak
	text.Selectable = true
	m.tor.addrShow = text
	copied := widget.NewLabel("")
	copyButton := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		m.u.app.Clipboard().SetContent(text.Text)
		copied.SetText("Copied.")
	})
	content := fixedWidth(440, container.NewVBox(
		wrapped("Contacts with Tor mode reach you at this address, from anywhere. The invites you make carry it."),
		text,
		container.NewHBox(copyButton, copied)))
	d := dialog.NewCustom("Your onion address", "Close", content, m.u.win)
	d.SetOnClosed(func() {
		m.tor.addrShow = nil
		m.focusInput()
	})
	d.Show()
}

// throughTor reports whether a link connected at addr goes through Tor:
// we dialed a .onion, or a caller came from this computer while our onion
// service is published (tor hands its connections to us from 127.0.0.1).
func (m *messenger) throughTor(addr string, incoming bool) bool {
	if transport.IsOnion(addr) {
		return true
	}
	if !incoming || m.tor.mode == nil || m.tor.port == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && ap.Addr().IsLoopback()
}

// inviteHosts lists the hosts an invite to this computer carries: this
// machine's network addresses, then, with Tor mode, the onion address
// last (a partner tries the others first); in Tor-only mode the onion
// address alone.
func (u *UI) inviteHosts() []string {
	var hosts []string
	m := u.main
	if (m == nil || !m.tor.torOnly()) && u.backend.LocalAddrs != nil {
		hosts = u.backend.LocalAddrs()
	}
	if m != nil && m.tor.on {
		if onion := m.tor.onion(); onion != "" {
			hosts = append(hosts, onion)
		}
	}
	return hosts
}

// changeTor changes Tor mode's settings: applied at once, and saved in
// the profile (a vault write, off the UI goroutine).
func (u *UI) changeTor(change func(*profile.Settings)) {
	m, v := u.main, u.vault
	if m == nil {
		return
	}
	now := profile.Settings{Tor: m.tor.on, TorOnly: m.tor.only, TorPath: m.tor.path}
	change(&now)
	m.setTor(now.Tor, now.TorOnly, now.TorPath)
	if v == nil {
		return
	}
	u.async(func() {
		st := v.Settings()
		change(&st)
		if err := v.SaveSettings(st); err != nil {
			u.showProblem("Could not save the Tor setting.", err)
		}
	})
}

// torSettings is the Tor tab of the settings dialog.
func (u *UI) torSettings(s *settingsDialog) fyne.CanvasObject {
	t := &u.main.tor
	s.tor = widget.NewCheck("Tor mode: reach and be reached anywhere, without port forwarding", nil)
	s.tor.Checked = t.on
	s.torOnly = widget.NewCheck("Only through Tor: contacts never learn your IP address", nil)
	s.torOnly.Checked = t.only
	if !t.on {
		s.torOnly.Disable()
	}
	s.tor.OnChanged = func(on bool) {
		if on {
			s.torOnly.Enable()
		} else {
			s.torOnly.Disable()
		}
		u.changeTor(func(st *profile.Settings) { st.Tor = on })
	}
	s.torOnly.OnChanged = func(on bool) {
		u.changeTor(func(st *profile.Settings) { st.TorOnly = on })
	}
	s.torPath = widget.NewEntry()
	s.torPath.SetPlaceHolder("Found automatically")
	s.torPath.SetText(t.path)
	s.torPath.OnSubmitted = func(string) { s.applyTorPath(u) }
	s.torChoose = widget.NewButton("Choose…", func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			path := r.URI().Path()
			_ = r.Close()
			s.torPath.SetText(path)
			s.applyTorPath(u)
		}, u.win)
		d.Show()
	})
	caption := widget.NewLabel("Tor hides whom you talk to, and your IP address, from the network; with Only through Tor, from your contacts too. " +
		"Trust does not change: your contacts' keys decide it, as always. A contact who knows your onion address can tell when you are online.")
	caption.Wrapping = fyne.TextWrapWord
	caption.SizeName = theme.SizeNameCaptionText
	return container.NewVBox(
		s.tor, s.torOnly,
		widget.NewForm(widget.NewFormItem("Tor program", container.NewBorder(nil, nil, nil, s.torChoose, s.torPath))),
		caption)
}

// applyTorPath applies and saves the tor program's path typed, if it
// changed.
func (s *settingsDialog) applyTorPath(u *UI) {
	if s.torPath == nil || u.main == nil {
		return
	}
	path := strings.TrimSpace(s.torPath.Text)
	if path == u.main.tor.path {
		return
	}
	u.changeTor(func(st *profile.Settings) { st.TorPath = path })
}
