package ui

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/invite"
	"github.com/securechat/securechat/session"
)

// fakeCtrl is a session.Controller that records commands; tests feed it
// events with emit.
type fakeCtrl struct {
	events chan session.Event
	once   sync.Once

	mu                                sync.Mutex
	sent, retried, dialed             []string
	accepted, declined, verified, bye int
	closed                            bool
	nextID                            int
	sendErr                           error
}

func newFakeCtrl() *fakeCtrl {
	// Unbuffered, so that emit can wait for the event to be handled.
	return &fakeCtrl{events: make(chan session.Event)}
}

// emit hands ev to the chat screen's reader and returns once it has been
// handled: the second send (an event of kind 0, which the reader skips)
// completes only after the reader came back for more.
func (f *fakeCtrl) emit(ev session.Event) {
	f.events <- ev
	f.events <- session.Event{}
}

func (f *fakeCtrl) Events() <-chan session.Event { return f.events }

func (f *fakeCtrl) Send(text string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return "", f.sendErr
	}
	f.nextID++
	f.sent = append(f.sent, text)
	return fmt.Sprintf("m%d", f.nextID), nil
}

func (f *fakeCtrl) Retry(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, id)
	return nil
}

func (f *fakeCtrl) Accept() error       { f.mu.Lock(); f.accepted++; f.mu.Unlock(); return nil }
func (f *fakeCtrl) Decline() error      { f.mu.Lock(); f.declined++; f.mu.Unlock(); return nil }
func (f *fakeCtrl) MarkVerified() error { f.mu.Lock(); f.verified++; f.mu.Unlock(); return nil }
func (f *fakeCtrl) Disconnect() error   { f.mu.Lock(); f.bye++; f.mu.Unlock(); return nil }

func (f *fakeCtrl) Dial(addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = append(f.dialed, addr)
	return nil
}

func (f *fakeCtrl) DialTarget(t session.Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = append(f.dialed, strings.Join(t.Addrs, ",")+" "+t.Contact)
	return nil
}

func (f *fakeCtrl) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.once.Do(func() { close(f.events) })
	return nil
}

// fakeVault is an in-memory Vault.
type fakeVault struct {
	name        string
	recent      []string
	convs       []Summary
	transcripts map[string]*Transcript
	contacts    []Contact
	invites     []*invite.Invite
	inviteUses  []int
	settings    history.Settings
}

func (v *fakeVault) Contacts() []Contact { return v.contacts }

// The session's side of the vault: the UI tests use a fake controller, so
// these are never reached; they complete the interface.
func (v *fakeVault) Identity() *crypto.Identity { return nil }
func (v *fakeVault) Contact(id string) (Contact, bool) {
	for _, c := range v.contacts {
		if c.ID == id {
			return c, true
		}
	}
	return Contact{}, false
}
func (v *fakeVault) SaveContact(c Contact) error       { return errors.New("fake vault: read only") }
func (v *fakeVault) DeleteContact(id string) error     { return errors.New("fake vault: read only") }
func (v *fakeVault) Invites() []history.Invite         { return nil }
func (v *fakeVault) UseInvite(string, time.Time) error { return history.ErrNoInvite }
func (v *fakeVault) BeginConversation(history.ConversationMeta) (history.Writer, error) {
	return nil, errors.New("fake vault: read only")
}

func (v *fakeVault) MakeInvite(hosts []string, port uint16, expires time.Duration, uses int) (*invite.Invite, error) {
	var fp [32]byte
	fp[0] = 0xab
	inv, err := invite.New(fp, hosts, port, time.Now().Add(expires), rand.Reader)
	if err != nil {
		return nil, err
	}
	v.invites = append(v.invites, inv)
	v.inviteUses = append(v.inviteUses, uses)
	return inv, nil
}

func (v *fakeVault) Settings() history.Settings { return v.settings }
func (v *fakeVault) SaveSettings(s history.Settings) error {
	v.settings = s
	return nil
}

func (v *fakeVault) Name() string          { return v.name }
func (v *fakeVault) RecentAddrs() []string { return v.recent }
func (v *fakeVault) AddRecentAddr(a string) error {
	v.recent = append([]string{a}, v.recent...)
	return nil
}
func (v *fakeVault) Conversations() ([]Summary, error) { return v.convs, nil }
func (v *fakeVault) Close() error                      { return nil }

func (v *fakeVault) Load(id string) (*Transcript, error) {
	t, ok := v.transcripts[id]
	if !ok {
		return nil, errors.New("no such conversation")
	}
	return t, nil
}

func (v *fakeVault) Search(text string) ([]Hit, error) {
	var hits []Hit
	for _, s := range v.convs {
		for _, m := range v.transcripts[s.ID].Messages {
			if strings.Contains(strings.ToLower(m.Text), strings.ToLower(text)) {
				hits = append(hits, Hit{Conversation: s, Message: m})
			}
		}
	}
	return hits, nil
}

var testTime = time.Date(2026, 3, 12, 14, 2, 0, 0, time.Local)

func sampleVault() *fakeVault {
	s1 := Summary{ID: "c1", Partner: "Bob", Role: "host", Start: testTime, End: testTime.Add(10 * time.Minute),
		EndReason: "Partner has disconnected", Messages: 3}
	s0 := Summary{ID: "c0", Partner: "Carol", Role: "connect", Start: testTime.Add(-48 * time.Hour), Messages: 1}
	return &fakeVault{
		name:   "Alice",
		recent: []string{"192.168.1.20:9999"},
		convs:  []Summary{s1, s0},
		transcripts: map[string]*Transcript{
			"c1": {Summary: s1, Messages: []StoredMessage{
				{ID: "a", Outgoing: true, Time: testTime, Text: "Did the parcel arrive?", Status: "delivered"},
				{ID: "b", Time: testTime.Add(time.Minute), Text: "Yes, this morning. Thanks!"},
				{ID: "c", Outgoing: true, Time: testTime.Add(2 * time.Minute), Text: "Great, see you on Friday", Status: "delivered"},
			}},
			"c0": {Summary: s0, Messages: []StoredMessage{
				{ID: "d", Time: testTime.Add(-48 * time.Hour), Text: "Parcel tracking number is 42"},
			}},
		},
	}
}

// fixture is the app built on the test driver with fake backends.
type fixture struct {
	t     *testing.T
	app   fyne.App
	win   fyne.Window
	ui    *UI
	vault *fakeVault
	ctrl  *fakeCtrl
	// what Backend.Host / Connect were asked for
	hostAddr, connectAddr string
	connectTarget         session.Target
	openErr               error
	exists                bool
	opened                []string // the links the app opened in the browser
}

func newFixture(t *testing.T, exists bool) *fixture {
	t.Helper()
	f := &fixture{t: t, vault: sampleVault(), ctrl: newFakeCtrl(), exists: exists}
	f.app = test.NewTempApp(t)
	f.win = f.app.NewWindow("SecureChat")
	b := Backend{
		ProfileDir: func() (string, error) { return t.TempDir(), nil },
		Exists:     func(string) bool { return f.exists },
		Create: func(dir, name string, pass []byte) (Vault, error) {
			f.vault.name = name
			return f.vault, nil
		},
		Open: func(dir string, pass []byte) (Vault, error) {
			if string(pass) != "correct horse battery" {
				return nil, fmt.Errorf("failed to unlock: %w", ErrWrongPassphrase)
			}
			return f.vault, f.openErr
		},
		Host: func(v Vault, addr string) (session.Controller, error) {
			f.hostAddr = addr
			return f.ctrl, nil
		},
		Connect: func(v Vault, t session.Target) (session.Controller, error) {
			f.connectAddr = strings.Join(t.Addrs, ",")
			f.connectTarget = t
			return f.ctrl, nil
		},
		LocalAddrs: func() []string { return []string{"192.168.1.20"} },
	}
	f.ui = New(f.app, f.win, b, "")
	f.ui.async = func(fn func()) { fn() }
	f.ui.openURL = func(u *url.URL) error {
		f.opened = append(f.opened, u.String())
		return nil
	}
	f.win.Resize(fyne.NewSize(820, 640))
	t.Cleanup(func() {
		if f.ui.chat != nil {
			f.ui.chat.closeWait()
		}
	})
	return f
}

// unlock goes through the unlock screen to Host or Connect.
func (f *fixture) unlock() {
	f.t.Helper()
	test.Type(f.ui.unlock.pass, "correct horse battery")
	test.Tap(f.ui.unlock.button)
	require.NotNil(f.t, f.ui.choose, "the Host or Connect screen should show after unlocking")
}

// chatAs unlocks and starts a chat as host or connect side.
func (f *fixture) chatAs(r role) *chatScreen {
	f.t.Helper()
	f.unlock()
	if r == roleHost {
		test.Tap(f.ui.choose.hostButton)
	} else {
		f.ui.choose.addr.SetText("192.168.1.20")
		test.Tap(f.ui.choose.connButton)
	}
	require.NotNil(f.t, f.ui.chat)
	return f.ui.chat
}

var bob = &session.Partner{Name: "Bob", Addr: "192.168.1.31:50412", Fingerprint: "ab12",
	SafetyNumber: "12345 67890 24680 13579 11223 34455 66778 89900 10293 84756 56473 82910", Trust: session.TrustKnown}

func partner(trust session.Trust) *session.Partner {
	p := *bob
	p.Trust = trust
	return &p
}

// connected brings a chat screen to the connected state with Bob.
func (f *fixture) connected(r role) *chatScreen {
	f.t.Helper()
	c := f.chatAs(r)
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustKnown)})
	f.ctrl.emit(session.Event{Kind: session.EventConnected, Partner: partner(session.TrustKnown)})
	require.Equal(f.t, stateConnected, c.state)
	return c
}

// shownTexts returns the text of every bubble the history pane draws.
func shownTexts(m *messageList) []string {
	var out []string
	for _, o := range test.LaidOutObjects(m) {
		b, ok := o.(*bubble)
		if !ok || !b.Visible() || b.rend == nil {
			continue
		}
		if b.rend.day.Visible() {
			out = append(out, "—— "+b.rend.day.Text+" ——")
		}
		if b.r.kind == rowEarlier || b.r.kind == rowLater {
			out = append(out, b.rend.button.Text)
			continue
		}
		out = append(out, b.rend.text.String()+"\n"+b.rend.status.String())
	}
	return out
}

func containsText(texts []string, sub string) bool {
	for _, s := range texts {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// topDialogButton finds the button labelled label in the window's overlays.
func topDialogButton(t *testing.T, w fyne.Window, label string) *widget.Button {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	require.NotNil(t, top, "no dialog is shown")
	for _, o := range test.LaidOutObjects(top) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			return b
		}
	}
	t.Fatalf("no button %q in the dialog", label)
	return nil
}
