package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tor"
	"github.com/securechat/securechat/tormode"
)

// testOnion is the fake Tor mode's onion address.
const testOnion = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz234567.onion"

// fakeTor is a TorMode that records what the app asks of it; tests
// report its status with report.
type fakeTor struct {
	settings profile.Settings // what the app started it with
	watch    chan tormode.Status
	once     sync.Once

	mu          sync.Mutex
	st          tormode.Status
	published   []int
	unpublished int
	closed      bool
}

func newFakeTor(st profile.Settings) *fakeTor {
	// Unbuffered, so that report can wait for the status to be shown.
	return &fakeTor{settings: st, watch: make(chan tormode.Status),
		st: tormode.Status{State: tormode.Starting, Onion: testOnion}}
}

func (t *fakeTor) Status() tormode.Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st
}

func (t *fakeTor) Watch() <-chan tormode.Status { return t.watch }

func (t *fakeTor) Dial(context.Context, string) (net.Conn, error) {
	return nil, errors.New("fake tor: no dialing")
}

func (t *fakeTor) Publish(port int) {
	t.mu.Lock()
	t.published = append(t.published, port)
	t.mu.Unlock()
}

func (t *fakeTor) Unpublish() {
	t.mu.Lock()
	t.unpublished++
	t.mu.Unlock()
}

func (t *fakeTor) Onion() string { return testOnion }

func (t *fakeTor) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.once.Do(func() { close(t.watch) })
}

func (t *fakeTor) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// report hands st to the app and returns once it is shown: the second
// send completes only after the reader came back for more, and an
// unchanged status is skipped.
func (t *fakeTor) report(st tormode.Status) {
	st.Onion = testOnion
	t.mu.Lock()
	t.st = st
	t.mu.Unlock()
	t.watch <- st
	t.watch <- st
}

// onlyTor returns the one Tor mode started.
func (f *fixture) onlyTor() *fakeTor {
	f.t.Helper()
	require.Len(f.t, f.tors, 1, "one Tor mode should have been started")
	return f.tors[0]
}

// ctrlTor is the controller's Tor dialing: a dialer set, and Tor-only.
func (f *fixture) ctrlTor() (dialer, only bool) {
	f.ctrl.mu.Lock()
	defer f.ctrl.mu.Unlock()
	return f.ctrl.torDialer, f.ctrl.torOnly
}

// unlockWithTor unlocks a profile whose settings have Tor mode on.
func (f *fixture) unlockWithTor(change func(*profile.Settings)) *messenger {
	f.t.Helper()
	f.vault.settings.Tor = true
	if change != nil {
		change(&f.vault.settings)
	}
	return f.unlock()
}

func TestTor_TurningItOnStartsTorSetsTheDialerAndSavesIt(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	assert.Empty(t, f.tors, "Tor mode off: no tor")
	assert.False(t, c.tor.box.Visible(), "no Tor status while Tor mode is off")

	test.Tap(c.settings)
	s := f.ui.settings
	require.NotNil(t, s.tor, "the settings have a Tor section")
	assert.True(t, s.torOnly.Disabled(), "only through Tor needs Tor mode")
	test.Tap(s.tor)

	mode := f.onlyTor()
	dialer, only := f.ctrlTor()
	assert.True(t, dialer, "the controller dials .onion addresses through tor")
	assert.False(t, only)
	assert.True(t, f.vault.settings.Tor, "saved in the profile")
	assert.False(t, s.torOnly.Disabled())
	assert.True(t, c.tor.box.Visible())
	assert.Equal(t, "Tor: starting…", c.tor.label.Text)

	test.Tap(s.tor)
	assert.True(t, mode.isClosed(), "Tor mode off stops tor")
	dialer, _ = f.ctrlTor()
	assert.False(t, dialer, "no dialing through tor")
	assert.False(t, f.vault.settings.Tor)
	assert.False(t, c.tor.box.Visible())
	assert.True(t, s.torOnly.Disabled())
	assert.Len(t, f.tors, 1, "nothing started again")
}

func TestTor_StartsAtUnlockWhenTheSettingSaysSo(t *testing.T) {
	f := newFixture(t, true)
	f.unlockWithTor(func(st *profile.Settings) { st.TorPath = "/opt/tor/tor" })
	mode := f.onlyTor()
	assert.Equal(t, "/opt/tor/tor", mode.settings.TorPath, "the tor program the user chose")
	dialer, only := f.ctrlTor()
	assert.True(t, dialer)
	assert.False(t, only)
	f.ctrl.mu.Lock()
	assert.Equal(t, []bool{true}, f.ctrl.autoReconnect, "the contacts are dialed once the dialer is set")
	f.ctrl.mu.Unlock()
}

func TestTor_ProgressShowsInTheBarAndTheStatus(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlockWithTor(nil)
	mode := f.onlyTor()
	assert.True(t, c.tor.bar.Visible())
	assert.Zero(t, c.tor.bar.Value)

	mode.report(tormode.Status{State: tormode.Bootstrapping, Progress: tor.Progress{Percent: 45, Summary: "Loading relay descriptors"}})
	assert.InDelta(t, 0.45, c.tor.bar.Value, 1e-9)
	assert.True(t, c.tor.bar.Visible())
	assert.Equal(t, "Tor: connecting… 45% — Loading relay descriptors", c.tor.label.Text)

	mode.report(tormode.Status{State: tormode.Bootstrapping, Progress: tor.Progress{Percent: 14, Summary: "Handshaking with a relay", Warning: "DONE"}})
	assert.Equal(t, "Tor: connecting… 14% — Handshaking with a relay. Trouble reaching the Tor network: is this computer online?", c.tor.label.Text,
		"a stalled bootstrap says so, without tor's codes")

	mode.report(tormode.Status{State: tormode.Ready, Progress: tor.Progress{Percent: 100, Summary: "Done"}})
	assert.False(t, c.tor.bar.Visible(), "connected: no bar")
	assert.Equal(t, "Tor connected — listen to be reachable", c.tor.label.Text)
}

func TestTor_ReachableShowsTheOnionAddressToCopy(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlockWithTor(nil)
	mode := f.onlyTor()
	test.Tap(c.listenToggle)
	f.ctrl.emit(session.Listening{Addr: "[::]:9999", Addrs: []string{"192.168.1.20:9999"}})
	mode.report(tormode.Status{State: tormode.Ready, Port: 9999, Progress: tor.Progress{Percent: 100}})
	assert.Equal(t, "Tor connected — publishing your onion address…", c.tor.label.Text)
	assert.False(t, c.tor.address.Visible())

	mode.report(tormode.Status{State: tormode.Ready, Port: 9999, Reachable: true, Progress: tor.Progress{Percent: 100}})
	assert.Equal(t, "Reachable through Tor", c.tor.label.Text)
	require.True(t, c.tor.address.Visible())
	test.Tap(c.tor.address)
	require.NotNil(t, c.tor.addrShow, "the address shows in a dialog")
	assert.Equal(t, testOnion+":9999", c.tor.addrShow.Text, "in full, with the port")
	assert.True(t, c.tor.addrShow.Selectable)
	test.Tap(topDialogButton(t, f.win, "Copy"))
	assert.Equal(t, testOnion+":9999", f.app.Clipboard().Content())
}

func TestTor_FailureSaysWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		err        error
		want       string
	}{
		{"tor missing", "", fmt.Errorf("%w: %w", tormode.ErrNoTor, tor.ErrNotFound), torInstallHint},
		{"no tor at the path", "/nowhere/tor", fmt.Errorf("%w: %w", tormode.ErrNoTor, tor.ErrNotFound),
			"There is no tor program at /nowhere/tor. Choose it again in Settings, or clear the path to find tor by itself."},
		{"tor's own words", "", errors.New("tor: tor stopped before it bootstrapped: exit status 1"),
			"Tor did not start: tor: tor stopped before it bootstrapped: exit status 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			c := f.unlockWithTor(func(st *profile.Settings) { st.TorPath = tc.path })
			mode := f.onlyTor()
			mode.report(tormode.Status{State: tormode.Failed, Err: tc.err})
			assert.Equal(t, tc.want, c.tor.label.Text)
			assert.False(t, c.tor.bar.Visible())
			require.True(t, c.tor.retry.Visible(), "the user can try again")

			test.Tap(c.tor.retry)
			assert.True(t, mode.isClosed())
			require.Len(t, f.tors, 2, "Try again starts tor again")
			assert.Equal(t, "Tor: starting…", c.tor.label.Text)
		})
	}
}

// When Tor mode cannot even be made, Tor-only mode still dials nothing
// directly, and the user is told why.
func TestTor_ModeNotMadeKeepsTorOnlyAndSaysWhy(t *testing.T) {
	f := newFixture(t, true)
	f.torErr = errors.New("failed to read the onion service's key: disk on fire")
	c := f.unlockWithTor(func(st *profile.Settings) { st.TorOnly = true })
	dialer, only := f.ctrlTor()
	assert.True(t, dialer, "a dialer that fails in words")
	assert.True(t, only, "still nothing dialed directly")
	assert.Equal(t, "Tor did not start: failed to read the onion service's key: disk on fire", c.tor.label.Text)
}

func TestTor_ListeningPublishesThePortAndStoppingUnpublishes(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlockWithTor(nil)
	mode := f.onlyTor()
	test.Tap(c.listenToggle)
	f.ctrl.emit(session.Listening{Addr: "[::]:9999", Addrs: []string{"192.168.1.20:9999"}})
	mode.mu.Lock()
	assert.Equal(t, []int{9999}, mode.published)
	mode.mu.Unlock()
	f.ctrl.mu.Lock()
	assert.Equal(t, []string{":9999"}, f.ctrl.listens, "Tor mode alone: every network")
	f.ctrl.mu.Unlock()

	test.Tap(c.listenToggle) // Stop
	f.ctrl.emit(session.ListenStopped{})
	mode.mu.Lock()
	assert.Equal(t, 1, mode.unpublished)
	mode.mu.Unlock()
}

// Tor mode turned on while listening publishes the listener at once.
func TestTor_TurnedOnWhileListeningPublishes(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	test.Tap(c.listenToggle)
	f.ctrl.emit(session.Listening{Addr: "[::]:9999", Addrs: []string{"192.168.1.20:9999"}})
	test.Tap(c.settings)
	test.Tap(f.ui.settings.tor)
	mode := f.onlyTor()
	mode.mu.Lock()
	assert.Equal(t, []int{9999}, mode.published)
	mode.mu.Unlock()
}

func TestTor_OnlyThroughTorListensOnThisComputerOnly(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlockWithTor(func(st *profile.Settings) { st.TorOnly, st.Listen, st.ListenPort = true, true, 9999 })
	f.ctrl.emit(session.Listening{Addr: "127.0.0.1:9999", Addrs: []string{"127.0.0.1:9999"}})
	_, only := f.ctrlTor()
	assert.True(t, only, "only .onion addresses are dialed")
	f.ctrl.mu.Lock()
	assert.Equal(t, []string{"127.0.0.1:9999"}, f.ctrl.listens)
	f.ctrl.mu.Unlock()
	assert.Equal(t, "Listening on port 9999 for Tor only", c.listenStatus.Text)

	// unchecked while listening: the listener moves to every network
	test.Tap(c.settings)
	require.True(t, f.ui.settings.torOnly.Checked)
	test.Tap(f.ui.settings.torOnly)
	assert.False(t, f.vault.settings.TorOnly, "saved")
	_, only = f.ctrlTor()
	assert.False(t, only)
	f.ctrl.mu.Lock()
	assert.Equal(t, 1, f.ctrl.stops, "the listener was restarted")
	assert.Equal(t, []string{"127.0.0.1:9999", ":9999"}, f.ctrl.listens)
	f.ctrl.mu.Unlock()
	mode := f.onlyTor()
	mode.mu.Lock()
	assert.Equal(t, []int{9999, 9999}, mode.published, "published again for the new listener")
	mode.mu.Unlock()
}

func TestTor_InvitesCarryTheOnionAddress(t *testing.T) {
	for _, tc := range []struct {
		name   string
		only   bool
		hosts  []string
		saying string
	}{
		{"Tor mode: LAN first, onion last", false, []string{"192.168.1.20", testOnion}, "It works through Tor too"},
		{"Tor only: the onion alone", true, []string{testOnion}, "It works through Tor only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.unlockWithTor(func(st *profile.Settings) { st.TorOnly = tc.only })
			s := f.newChat()
			assert.Contains(t, s.hostAddrs.Text, testOnion+":9999 (through Tor)")
			if tc.only {
				assert.NotContains(t, s.hostAddrs.Text, "192.168.1.20")
			}
			s.makeInvite(7*24*time.Hour, 1)
			require.Len(t, f.vault.invites, 1)
			assert.Equal(t, tc.hosts, f.vault.invites[0].Addrs)
			require.NotNil(t, s.inviteCode, "the invite's code shows")
			var texts []string
			for _, o := range test.LaidOutObjects(f.win.Canvas().Overlays().Top()) {
				if l, ok := o.(interface{ String() string }); ok {
					texts = append(texts, l.String())
				}
			}
			assert.True(t, containsText(texts, tc.saying), "the invite dialog says it works through Tor: %q", texts)
		})
	}
}

func TestTor_WithoutTorModeInvitesCarryNoOnion(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	s := f.newChat()
	s.makeInvite(time.Hour, 1)
	require.Len(t, f.vault.invites, 1)
	assert.Equal(t, []string{"192.168.1.20"}, f.vault.invites[0].Addrs)
}

func TestTor_HeaderSaysThroughTorForAnOnionLink(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlockWithTor(nil)
	f.selectContact(bobFP)
	p := partner(session.TrustKnown)
	p.Addr = testOnion + ":9999"
	f.ctrl.emit(session.Handshaking{Link: 7, Addr: p.Addr, Contact: bobFP},
		session.Request{Link: 7, Partner: p},
		session.Connected{Link: 7, Partner: p})
	assert.Equal(t, "Connected · encrypted · through Tor", c.status.Text)
	assert.True(t, containsText(rowTexts(c.thread()), "Connected to Bob through Tor."))

	f.ctrl.emit(session.Ended{Link: 7, Contact: bobFP, Reason: session.EndPartnerLeft, Connected: true})
	f.comesIn(8, partner(session.TrustKnown)) // from the LAN
	assert.Equal(t, "Connected · encrypted", c.status.Text)
}

// A caller through our onion service comes from 127.0.0.1: through Tor
// while the service is published.
func TestTor_HeaderSaysThroughTorForACallerThroughOurOnionService(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlockWithTor(func(st *profile.Settings) { st.TorOnly, st.Listen = true, true })
	f.selectContact(bobFP)
	p := partner(session.TrustKnown)
	p.Addr = "127.0.0.1:41234"
	f.comesIn(9, p)
	assert.Equal(t, "Connected · encrypted · through Tor", c.status.Text)
}

func TestTor_DetailsMarkOnionAddresses(t *testing.T) {
	f := newFixture(t, true)
	f.vault.contacts[0].Addrs = []string{"192.168.1.31:9999", testOnion + ":9999"}
	f.unlock()
	f.selectContact(bobFP)
	f.ui.main.showDetails()
	require.NotNil(t, f.ui.details)
	var texts []string
	for _, o := range test.LaidOutObjects(f.win.Canvas().Overlays().Top()) {
		if l, ok := o.(interface{ String() string }); ok {
			texts = append(texts, l.String())
		}
	}
	assert.True(t, containsText(texts, "192.168.1.31:9999\n"+testOnion+":9999 (through Tor)"), "%q", texts)
}

func TestTor_ShutdownStopsTor(t *testing.T) {
	f := newFixture(t, true)
	f.unlockWithTor(nil)
	mode := f.onlyTor()
	f.ui.Shutdown()
	assert.True(t, mode.isClosed(), "tor stops when the app quits")
}

func TestTor_ChangingTheProgramRestartsTor(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlockWithTor(nil)
	first := f.onlyTor()
	test.Tap(c.settings)
	s := f.ui.settings
	s.torPath.SetText("  /opt/tor/tor ")
	s.dialog.Hide() // closing applies a path typed without Enter
	assert.True(t, first.isClosed())
	require.Len(t, f.tors, 2)
	assert.Equal(t, "/opt/tor/tor", f.tors[1].settings.TorPath)
	assert.Equal(t, "/opt/tor/tor", f.vault.settings.TorPath, "saved")

	test.Tap(c.settings)
	assert.Equal(t, "/opt/tor/tor", f.ui.settings.torPath.Text)
	f.ui.settings.dialog.Hide()
	assert.Len(t, f.tors, 2, "an unchanged path restarts nothing")
}

// The app's own backend: a tor program that is not there fails with
// [tormode.ErrNoTor], which the sidebar turns into what to install.
func TestRealBackend_TorAtAPathThatIsNotThereSaysSo(t *testing.T) {
	dir := t.TempDir()
	v, err := history.CreateWith(dir, "alice", []byte("pass-alice"), cheapKDF)
	require.NoError(t, err)
	defer v.Close()
	mode, err := RealBackend().Tor(dir, v, profile.Settings{Tor: true, TorPath: dir + "/no-tor-here"})
	require.NoError(t, err)
	defer mode.Close()
	assert.True(t, strings.HasSuffix(mode.Onion(), ".onion"))
	timeout := time.After(10 * time.Second)
	for {
		select {
		case st := <-mode.Watch():
			if st.State == tormode.Failed {
				assert.ErrorIs(t, st.Err, tormode.ErrNoTor)
				return
			}
		case <-timeout:
			t.Fatal("Tor mode did not fail")
		}
	}
}
