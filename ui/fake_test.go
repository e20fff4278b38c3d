package ui

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/software"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/invite"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
)

// fakeCtrl is a session.Controller that records commands; tests feed it
// events with emit.
type fakeCtrl struct {
	events chan session.Event
	once   sync.Once

	mu                                 sync.Mutex
	sent                               []sentMsg
	dialed, cancelled, reconnects      []string
	cancelledMsgs                      []string // contact/id of CancelMessage
	autoReconnect                      []bool
	accepted, declined, verified, byes []string
	listens                            []string
	stops                              int
	onlyContacts                       []bool
	torDialer, torOnly                 bool
	closed                             bool
	nextID                             int
	nextLink                           session.LinkID
	sendErr, listenErr                 error
}

type sentMsg struct{ contact, text, id string }

func newFakeCtrl() *fakeCtrl {
	// Unbuffered, so that emit can wait for the event to be handled.
	return &fakeCtrl{events: make(chan session.Event), nextLink: 100}
}

// emit hands ev to the app's event reader and returns once it has been
// handled: the second send (a nil event, which the reader skips)
// completes only after the reader came back for more.
func (f *fakeCtrl) emit(evs ...session.Event) {
	for _, ev := range evs {
		f.events <- ev
		f.events <- nil
	}
}

func (f *fakeCtrl) Events() <-chan session.Event { return f.events }

func (f *fakeCtrl) Listen(addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listenErr != nil {
		return f.listenErr
	}
	f.listens = append(f.listens, addr)
	return nil
}

func (f *fakeCtrl) StopListening() error { f.mu.Lock(); f.stops++; f.mu.Unlock(); return nil }
func (f *fakeCtrl) SetOnlyContacts(on bool) {
	f.mu.Lock()
	f.onlyContacts = append(f.onlyContacts, on)
	f.mu.Unlock()
}

func (f *fakeCtrl) SetOnionDialer(d session.OnionDialer, only bool) {
	f.mu.Lock()
	f.torDialer, f.torOnly = d != nil, only
	f.mu.Unlock()
}

func (f *fakeCtrl) Send(contact, text string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return "", f.sendErr
	}
	f.nextID++
	id := fmt.Sprintf("m%d", f.nextID)
	f.sent = append(f.sent, sentMsg{contact, text, id})
	return id, nil
}

// texts lists the texts sent, to any contact.
func (f *fakeCtrl) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sent {
		out = append(out, s.text)
	}
	return out
}

func (f *fakeCtrl) CancelMessage(contact, id string) error {
	return f.record(&f.cancelledMsgs, contact+"/"+id)
}
func (f *fakeCtrl) ReconnectNow(contact string) error { return f.record(&f.reconnects, contact) }
func (f *fakeCtrl) SetAutoReconnect(on bool) {
	f.mu.Lock()
	f.autoReconnect = append(f.autoReconnect, on)
	f.mu.Unlock()
}

// got returns a copy of one of the recorded lists, under the lock.
func (f *fakeCtrl) got(list *[]string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(*list)
}

func (f *fakeCtrl) record(to *[]string, contact string) error {
	f.mu.Lock()
	*to = append(*to, contact)
	f.mu.Unlock()
	return nil
}

func (f *fakeCtrl) Accept(contact string) error       { return f.record(&f.accepted, contact) }
func (f *fakeCtrl) Decline(contact string) error      { return f.record(&f.declined, contact) }
func (f *fakeCtrl) MarkVerified(contact string) error { return f.record(&f.verified, contact) }
func (f *fakeCtrl) Disconnect(contact string) error   { return f.record(&f.byes, contact) }
func (f *fakeCtrl) Cancel(link session.LinkID) error {
	return f.record(&f.cancelled, fmt.Sprint(link))
}

func (f *fakeCtrl) DialTarget(t session.Target) (session.LinkID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = append(f.dialed, strings.Join(t.Addrs, ",")+" "+t.Contact+t.InviteKey)
	f.nextLink++
	return f.nextLink, nil
}

// lastLink is the link id of the newest dial.
func (f *fakeCtrl) lastLink() session.LinkID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nextLink
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
	name       string
	recent     []string
	contacts   []Contact
	threads    map[string][]ThreadMessage
	theirNames map[string]string
	read       map[string]int // messages read per thread
	invites    []*invite.Invite
	inviteUses []int
	settings   profile.Settings
	ident      *crypto.Identity
	deleted    []string
	marked     []string
}

func (v *fakeVault) Contacts() []Contact { return slices.Clone(v.contacts) }

// The session's side of the vault: the UI tests use a fake controller, so
// these are never reached; they complete the interface.
func (v *fakeVault) Identity() *crypto.Identity { return v.ident }
func (v *fakeVault) Contact(id string) (Contact, bool) {
	for _, c := range v.contacts {
		if c.ID == id {
			return c, true
		}
	}
	return Contact{}, false
}
func (v *fakeVault) SaveContact(c Contact) error {
	for i := range v.contacts {
		if v.contacts[i].ID == c.ID {
			v.contacts[i] = c
			return nil
		}
	}
	v.contacts = append(v.contacts, c)
	return nil
}
func (v *fakeVault) DeleteContact(id string) error     { return errors.New("fake vault: not used") }
func (v *fakeVault) Invites() []profile.Invite         { return nil }
func (v *fakeVault) UseInvite(string, time.Time) error { return profile.ErrNoInvite }
func (v *fakeVault) BeginConversation(history.ConversationMeta) (history.Writer, error) {
	return nil, errors.New("fake vault: read only")
}

// The outbox: the fake controller never queues, so the vault's side is
// only what a test put in the threads.
func (v *fakeVault) QueueMessage(contact string, m history.OutboxMessage, durable func(error)) {
	durable(errors.New("fake vault: read only"))
}
func (v *fakeVault) Outbox(contact string) []history.OutboxMessage { return nil }
func (v *fakeVault) MarkDelivered(contact, id string) error        { return history.ErrUnknownMessage }
func (v *fakeVault) CancelQueued(contact, id string) error         { return history.ErrUnknownMessage }
func (v *fakeVault) Received(contact, id string) bool              { return false }

func (v *fakeVault) RenameContact(id, name string) error {
	for i := range v.contacts {
		if v.contacts[i].ID == id {
			v.contacts[i].Name = name
			return nil
		}
	}
	return profile.ErrNoContact
}

func (v *fakeVault) Threads() ([]ThreadSummary, error) {
	var out []ThreadSummary
	for id, msgs := range v.threads {
		if len(msgs) == 0 {
			continue
		}
		s := ThreadSummary{Contact: id, Name: v.theirNames[id], Messages: len(msgs)}
		for _, m := range msgs[v.read[id]:] {
			if !m.Outgoing {
				s.Unread++
			}
		}
		s.Last = msgs[len(msgs)-1].StoredMessage
		s.Active = s.Last.Time
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ThreadSummary) int { return b.Active.Compare(a.Active) })
	return out, nil
}

func (v *fakeVault) Thread(contact string) (*Thread, error) {
	return &Thread{Contact: contact, Messages: slices.Clone(v.threads[contact])}, nil
}

func (v *fakeVault) MarkRead(contact string) error {
	if v.read == nil {
		v.read = map[string]int{}
	}
	v.read[contact] = len(v.threads[contact])
	v.marked = append(v.marked, contact)
	return nil
}

func (v *fakeVault) DeleteContactAndHistory(contact string) error {
	v.contacts = slices.DeleteFunc(v.contacts, func(c Contact) bool { return c.ID == contact })
	delete(v.threads, contact)
	v.deleted = append(v.deleted, contact)
	return nil
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

// OnionKey is a fixed seed: the fake Tor mode never uses it.
func (v *fakeVault) OnionKey() ([]byte, error) { return make([]byte, 32), nil }

func (v *fakeVault) Settings() profile.Settings { return v.settings }
func (v *fakeVault) SaveSettings(s profile.Settings) error {
	v.settings = s
	return nil
}

// The file store: the UI tests use a fake Files, so these are never reached.
func (v *fakeVault) FilesDir() string          { return "" }
func (v *fakeVault) FilesKey() ([]byte, error) { return nil, errors.New("fake vault: no file store") }

func (v *fakeVault) Name() string          { return v.name }
func (v *fakeVault) RecentAddrs() []string { return v.recent }
func (v *fakeVault) AddRecentAddr(a string) error {
	v.recent = append([]string{a}, v.recent...)
	return nil
}
func (v *fakeVault) Close() error { return nil }

func (v *fakeVault) Search(text string) ([]Hit, error) { // the stored messages only, as the vault

	var hits []Hit
	ids := make([]string, 0, len(v.threads))
	for id := range v.threads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for _, m := range v.threads[id] {
			if strings.Contains(strings.ToLower(m.Text), strings.ToLower(text)) {
				hits = append(hits, Hit{Conversation: Summary{ID: m.Conversation, Partner: v.theirNames[id], Fingerprint: id}, Message: m.StoredMessage})
			}
		}
	}
	return hits, nil
}

var testTime = time.Date(2026, 3, 12, 14, 2, 0, 0, time.Local)

// The keys of the test's partners: fingerprints are 64 hex digits.
var (
	bobFP   = "ab12" + strings.Repeat("0", 60)
	carolFP = "ca01" + strings.Repeat("1", 60)
	daveFP  = "da02" + strings.Repeat("2", 60)
	eveFP   = "ee03" + strings.Repeat("3", 60)
)

func tm(id string, out bool, at time.Time, text string) ThreadMessage {
	m := ThreadMessage{StoredMessage: StoredMessage{ID: id, Outgoing: out, Time: at, Text: text, Status: "delivered"}, Conversation: "c-" + id}
	return m
}

// sampleVault is Alice's profile: contacts Bob and Carol with a thread
// each (Bob's newest; all read).
func sampleVault() *fakeVault {
	return &fakeVault{
		name:   "Alice",
		recent: []string{"192.168.1.20:9999"},
		contacts: []Contact{
			{ID: bobFP, Name: "Bob", TheirName: "Bob", Addrs: []string{"192.168.1.31:9999"}, LastSeen: testTime},
			{ID: carolFP, Name: "Carol", TheirName: "Carol", Addrs: []string{"192.168.1.32:9999"}, LastSeen: testTime.Add(-48 * time.Hour)},
		},
		theirNames: map[string]string{bobFP: "Bob", carolFP: "Carol"},
		threads: map[string][]ThreadMessage{
			bobFP: {
				tm("a", true, testTime, "Did the parcel arrive?"),
				tm("b", false, testTime.Add(time.Minute), "Yes, this morning. Thanks!"),
				tm("c", true, testTime.Add(2*time.Minute), "Great, see you on Friday"),
			},
			carolFP: {tm("d", false, testTime.Add(-48*time.Hour), "Parcel tracking number is 42")},
		},
		read: map[string]int{bobFP: 3, carolFP: 1},
	}
}

// fixture is the app built on the test driver with fake backends.
type fixture struct {
	t       *testing.T
	app     fyne.App
	win     fyne.Window
	ui      *UI
	vault   *fakeVault
	ctrl    *fakeCtrl
	openErr error
	exists  bool
	opened  []string // the links the app opened in the browser
	made    int      // controllers made
	ticks   chan time.Time
	tickMu  sync.Mutex
	stopped chan struct{} // closed when the newest ticker was stopped
	tors    []*fakeTor    // the Tor modes started, oldest first
	torErr  error         // what starting Tor mode fails with
	// the file dialogs (withFiles): the file chosen to send, where to
	// save, and the names the save dialog was asked for
	openPath, savePath string
	saveAsked          []string
}

func newFixture(t *testing.T, exists bool) *fixture {
	t.Helper()
	f := &fixture{t: t, vault: sampleVault(), ctrl: newFakeCtrl(), exists: exists}
	f.app = test.NewTempApp(t)
	// Fyne's caches keep the time of their last clean, which a capture
	// runs first: widgets drawn more than a minute after it count as
	// expired, and the next capture destroys their renderers (a golden
	// image late in a slow test run came out blank). A capture of
	// nothing sets that time to now.
	software.NewCanvas().Capture()
	f.win = f.app.NewWindow("SecureChat")
	dir := t.TempDir()
	b := Backend{
		ProfileDir: func() (string, error) { return dir, nil },
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
		New: func(v Vault, files Files) (session.Controller, error) {
			f.made++
			return f.ctrl, nil
		},
		LocalAddrs: func() []string { return []string{"192.168.1.20"} },
		Tor: func(dir string, v Vault, st profile.Settings) (TorMode, error) {
			if f.torErr != nil {
				return nil, f.torErr
			}
			t := newFakeTor(st)
			f.tors = append(f.tors, t)
			return t, nil
		},
	}
	f.ui = New(f.app, f.win, b, "")
	f.ui.async = func(fn func()) { fn() }
	f.ticks = make(chan time.Time)
	f.ui.ticker = func() (<-chan time.Time, func()) {
		stopped := make(chan struct{})
		f.tickMu.Lock()
		f.stopped = stopped
		f.tickMu.Unlock()
		return f.ticks, func() { close(stopped) }
	}
	f.ui.openURL = func(u *url.URL) error {
		f.opened = append(f.opened, u.String())
		return nil
	}
	f.win.Resize(fyne.NewSize(820, 640))
	t.Cleanup(func() {
		if f.ui.main != nil {
			f.ui.main.closeWait()
		}
	})
	return f
}

// unlock goes through the unlock screen to the main window.
func (f *fixture) unlock() *messenger {
	f.t.Helper()
	test.Type(f.ui.unlock.pass, "correct horse battery")
	test.Tap(f.ui.unlock.button)
	require.NotNil(f.t, f.ui.main, "the main window should show after unlocking")
	return f.ui.main
}

// fresh empties the vault: a first start.
func (f *fixture) fresh() {
	f.vault.contacts, f.vault.threads, f.vault.recent = nil, map[string][]ThreadMessage{}, nil
}

var bob = &session.Partner{Name: "Bob", Addr: "192.168.1.31:50412", Fingerprint: bobFP,
	SafetyNumber: "12345 67890 24680 13579 11223 34455 66778 89900 10293 84756 56473 82910", Trust: session.TrustKnown}

func partner(trust session.Trust) session.Partner {
	p := *bob
	p.Trust = trust
	return p
}

// someone is a partner called name with key fp.
func someone(name, fp string, trust session.Trust) session.Partner {
	return session.Partner{Name: name, Addr: "192.168.1.40:50000", Fingerprint: fp, Trust: trust,
		SafetyNumber: "11111 22222 33333 44444 55555 66666 77777 88888 99999 00000 12121 34343"}
}

// comesIn makes p call us on link and get connected (a contact: let in
// without asking).
func (f *fixture) comesIn(link session.LinkID, p session.Partner) {
	f.t.Helper()
	f.ctrl.emit(session.Handshaking{Link: link, Addr: p.Addr, Incoming: true},
		session.Request{Link: link, Partner: p},
		session.Connected{Link: link, Partner: p})
}

// says makes the partner of key fp send text on link.
func (f *fixture) says(link session.LinkID, fp, id, text string) {
	f.ctrl.emit(session.MessageEvent{Link: link, Contact: fp, Message: session.Message{ID: id, From: "them", Text: text, Time: time.Now()}})
}

// selectContact selects the contact of key fp in the list, as a tap does.
func (f *fixture) selectContact(fp string) {
	f.t.Helper()
	m := f.ui.main
	require.Empty(f.t, m.term, "the list shows search hits, not contacts")
	for i, p := range m.order {
		if p.id == fp {
			m.list.Select(i)
			require.Equal(f.t, p, m.selected)
			return
		}
	}
	f.t.Fatalf("%s is not in the contact list", fp)
}

// connected unlocks, lets Bob in and shows his thread, as the old single
// chat tests started.
func (f *fixture) connected() *messenger {
	f.t.Helper()
	m := f.unlock()
	f.comesIn(1, partner(session.TrustKnown))
	f.selectContact(bobFP)
	require.Equal(f.t, peerConnected, m.selected.state)
	return m
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

// rowTexts returns the text of every row of a pane, shown or scrolled away.
func rowTexts(m *messageList) []string {
	var out []string
	for _, r := range m.rows {
		out = append(out, r.text)
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

// newChat unlocks and opens the New chat dialog.
func (f *fixture) newChat() *chooseScreen {
	f.t.Helper()
	if f.ui.main == nil {
		f.unlock()
	}
	if f.ui.choose == nil {
		f.ui.showChoose()
	}
	require.NotNil(f.t, f.ui.choose)
	return f.ui.choose
}

// dialedAddrs is what the newest dial went to ("" if none).
func (f *fixture) dialedAddrs() string {
	f.ctrl.mu.Lock()
	defer f.ctrl.mu.Unlock()
	if len(f.ctrl.dialed) == 0 {
		return ""
	}
	addrs, _, _ := strings.Cut(f.ctrl.dialed[len(f.ctrl.dialed)-1], " ")
	return addrs
}

// queued reports our message id to contact durably queued, as the
// session's Queued does once the history has it.
func (f *fixture) queued(contact, id, text string) {
	f.ctrl.emit(session.Queued{Contact: contact, Message: session.Message{ID: id, Outgoing: true, From: "Alice", Text: text, Time: clock()}})
}

// queueSent reports the newest message sent durably queued.
func (f *fixture) queueSent() {
	f.t.Helper()
	f.ctrl.mu.Lock()
	require.NotEmpty(f.t, f.ctrl.sent)
	s := f.ctrl.sent[len(f.ctrl.sent)-1]
	f.ctrl.mu.Unlock()
	f.queued(s.contact, s.id, s.text)
}

// tick makes the countdown's ticker tick once and returns once the tick
// was handled: the zero time after it is taken only then, or the ticker
// stopped.
func (f *fixture) tick() {
	f.t.Helper()
	f.tickMu.Lock()
	stopped := f.stopped
	f.tickMu.Unlock()
	select {
	case f.ticks <- time.Now():
	case <-time.After(5 * time.Second):
		f.t.Fatal("no ticker runs")
	}
	select {
	case f.ticks <- time.Time{}:
	case <-stopped:
	}
}

// dials makes the session dial contact on link (the reconnect loop, or
// Connect and Try now through ReconnectNow).
func (f *fixture) dials(link session.LinkID, contact string) {
	f.ctrl.emit(session.Handshaking{Link: link, Addr: "192.168.1.31:9999", Contact: contact})
}
