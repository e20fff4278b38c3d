package ui

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transfer"
)

// peerState is where the link with one contact stands.
type peerState int

const (
	peerOffline     peerState = iota // no link
	peerDialing                      // we dial it
	peerHandshaking                  // a connection with it is being secured
	peerDeciding                     // its request waits for the user
	peerAwaiting                     // we accepted, it has not yet
	peerConnected                    // messages flow
)

// peer is one key the app knows: a contact, a key with history, or one that
// is connecting. The list shows it; its thread is built when first needed
// and kept, so that live messages stay with it.
type peer struct {
	id        string // the key's fingerprint: the contact id
	name      string // the name the user gave, else the name they use
	theirName string // the name they use (self-asserted)
	contact   bool   // saved as a contact
	listed    bool   // shown in the contact list
	addrs     []string
	key       []byte // PKIX DER of the key, when known
	verified  bool
	invited   bool

	partner *session.Partner // from the last request or connection
	// asked: the user asked to reach it (opened it, Connect, Try now);
	// the session's next dial of it is the user's, whose answer they
	// wait for (a changed key is asked about at once).
	asked  bool
	link   session.LinkID // the link in progress or connected; 0 for none
	state  peerState
	viaTor bool // the connected link goes through Tor
	unread int

	last     string // preview of the newest message
	lastOut  bool
	lastTime time.Time
	active   time.Time

	thread *messageList // nil until shown or a live event came
	loaded bool
	draft  string // what was typed in the input for it, while another was shown

	// note and noteErr say why the last connection attempt failed, in
	// words and in detail (for "Details").
	note    string
	noteErr error

	// reconnectAt is when the session dials it next (Reconnecting); zero
	// when unknown. paused: the reconnects stopped because one side said
	// goodbye (ReconnectPaused).
	reconnectAt time.Time
	paused      bool
	// statuses holds the delivery states that events reported for
	// messages this run, so that a thread read from the history before
	// they came shows them.
	statuses map[string]msgStatus
}

// setStatus records what an event said of message id.
func (p *peer) setStatus(id string, s msgStatus) {
	if p.statuses == nil {
		p.statuses = map[string]msgStatus{}
	}
	if !p.statuses[id].final() {
		p.statuses[id] = s
	}
}

// label is the name shown for the peer.
func (p *peer) label() string {
	if p.name != "" {
		return p.name
	}
	if p.theirName != "" {
		return p.theirName
	}
	if len(p.id) >= 8 {
		return "Key " + p.id[:8]
	}
	return "Unknown"
}

func (p *peer) online() bool { return p.state == peerConnected }

// peer returns the peer of key id, making an unlisted one if new.
func (m *messenger) peer(id string) *peer {
	if p, ok := m.peers[id]; ok {
		return p
	}
	p := &peer{id: id}
	m.peers[id] = p
	return p
}

// peerFor returns the peer of an authenticated partner, with what the
// partner tells of itself.
func (m *messenger) peerFor(pt session.Partner) *peer {
	p := m.peer(pt.Fingerprint)
	cp := pt
	p.partner = &cp
	if pt.Name != "" {
		p.theirName = pt.Name
	}
	if pt.ContactName != "" && p.name == "" {
		p.name = pt.ContactName
	}
	switch pt.Trust {
	case session.TrustVerified:
		p.verified = true
	case session.TrustInvited:
		p.invited = true
	}
	return p
}

// loadPeers fills the list from the vault: every contact and every key
// with history. It runs on the UI goroutine with what was read off it.
func (m *messenger) loadPeers(contacts []Contact, threads []ThreadSummary) {
	for _, c := range contacts {
		p := m.peer(c.ID)
		m.applyContact(p, c)
		p.listed = true
		if c.LastSeen.After(p.active) {
			p.active = c.LastSeen
		}
	}
	for _, t := range threads {
		p := m.peer(t.Contact)
		if p.theirName == "" {
			p.theirName = t.Name
		}
		p.unread = t.Unread
		if t.Last.ID != "" || !t.Last.Time.IsZero() {
			p.last, p.lastOut, p.lastTime = t.Last.Text, t.Last.Outgoing, t.Last.Time
		}
		if t.Active.After(p.active) {
			p.active = t.Active
		}
		p.listed = true
	}
	m.resort()
}

func (m *messenger) applyContact(p *peer, c Contact) {
	p.contact = true
	p.name = c.Name
	if c.TheirName != "" {
		p.theirName = c.TheirName
	}
	p.addrs = slices.Clone(c.Addrs)
	if len(c.Key) > 0 {
		p.key = c.Key
	}
	p.verified = c.Verified
	p.invited = c.Invited
}

// refreshContact reads the contact of p from the vault again (after a
// connection saved it, a rename or a verification).
func (m *messenger) refreshContact(p *peer) {
	if m.u.vault == nil {
		return
	}
	for _, c := range m.u.vault.Contacts() {
		if c.ID == p.id {
			m.applyContact(p, c)
			return
		}
	}
}

// sortTime is when p was last active for the list's order: its newest
// message, as in any messenger, or its newest connection if it has none.
func (p *peer) sortTime() time.Time {
	if !p.lastTime.IsZero() {
		return p.lastTime
	}
	return p.active
}

// resort orders the list: newest activity first, then by name.
func (m *messenger) resort() {
	m.order = m.order[:0]
	for _, p := range m.peers {
		if p.listed {
			m.order = append(m.order, p)
		}
	}
	slices.SortFunc(m.order, func(a, b *peer) int {
		if c := b.sortTime().Compare(a.sortTime()); c != 0 {
			return c
		}
		if c := strings.Compare(strings.ToLower(a.label()), strings.ToLower(b.label())); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	m.refreshList()
}

// touch marks activity of p at t, moving it up the list.
func (m *messenger) touch(p *peer, t time.Time) {
	if t.IsZero() {
		t = clock()
	}
	if t.After(p.active) {
		p.active = t
	}
	p.listed = true
	m.resort()
}

// ensureThread builds p's thread pane and reads its history. Rows that
// arrived live before the history was read are kept after it (or in its
// place, when the history has them too).
func (m *messenger) ensureThread(p *peer) *messageList {
	if p.thread != nil {
		return p.thread
	}
	l := newMessageList(func(id string) { m.cancelMessage(p, id) })
	l.onFile = func(r *row, a fileAction) { m.fileAction(p, r, a) }
	l.partner, l.online = p.label(), p.online()
	l.onAction = m.focusInput
	l.window = m.u.win
	l.openURL = func(link *url.URL) error { return m.u.openURL(link) }
	l.setShowWire(m.showWire)
	p.thread = l
	m.loadThread(p, "")
	return l
}

// loadThread reads p's history into its pane; focus is the id of a
// message to open the pane at and outline ("" for the newest).
func (m *messenger) loadThread(p *peer, focus string) {
	v := m.u.vault
	if v == nil {
		p.loaded = true
		return
	}
	me := v.Name()
	m.u.async(func() {
		t, err := v.Thread(p.id)
		files := m.listFiles(p.id)
		fyne.Do(func() {
			if err != nil {
				m.note(p, "The earlier messages could not be read.", noteDanger)
				p.loaded = true
				return
			}
			m.fillThread(p, t, me, focus, files)
		})
	})
}

// fillThread puts the rows of thread t, and the live rows already shown,
// into p's pane.
func (m *messenger) fillThread(p *peer, t *Thread, me, focus string, files []transfer.Transfer) {
	l := p.thread
	if l == nil {
		return
	}
	rows, at := threadRows(t, me, p.label(), focus, l.byID)
	var focusRow *row
	if at >= 0 {
		focusRow = rows[at]
	}
	for _, r := range rows { // what events said since the history was read
		if s, ok := p.statuses[r.id]; ok && r.outgoing && r.id != "" && !r.status.final() {
			r.status = s
		}
	}
	used := make(map[string]bool, len(rows))
	for _, r := range rows {
		if r.id != "" {
			used[r.id] = true
		}
	}
	for _, r := range l.rows {
		if r.id == "" || !used[r.id] {
			rows = append(rows, r)
		}
		r.invalidate()
	}
	if len(files) > 0 || m.files != nil {
		rows = m.withFiles(p, rows, files, l.byID)
		if focusRow != nil {
			at = slices.Index(rows, focusRow)
		}
	}
	l.highlight = m.term
	l.setRows(rows, at)
	p.loaded = true
}

// threadRows turns a stored thread into rows: ours under the name me, the
// partner's under them. A message also in live (shown since the app
// started) keeps its live row, with its delivery state. It also returns
// the index of message focus, or -1.
func threadRows(t *Thread, me, them, focus string, live map[string]*row) ([]*row, int) {
	if t == nil {
		return nil, -1
	}
	rows := make([]*row, 0, len(t.Messages))
	store := make([]row, len(t.Messages)) // one allocation for them all
	at := -1
	for i, tm := range t.Messages {
		if r, ok := live[tm.ID]; ok && tm.ID != "" {
			rows = append(rows, r)
		} else {
			r := &store[i]
			from := them
			if tm.Outgoing {
				from = me
			}
			*r = row{kind: rowMessage, id: tm.ID, outgoing: tm.Outgoing, from: from,
				text: tm.Text, time: tm.Time, reason: tm.Reason, readOnly: true}
			if tm.Outgoing {
				r.status = statusFromHistory(tm.Status)
			}
			rows = append(rows, r)
		}
		if focus != "" && tm.ID == focus {
			at = len(rows) - 1
		}
	}
	return rows, at
}

// openAt shows p's thread opened at message id, outlined. A pane that
// has its history already is moved there; else the history is read.
func (m *messenger) openAt(p *peer, id string) {
	m.selectPeer(p)
	l := p.thread
	if p.loaded {
		for i, r := range l.rows {
			if r.id == id {
				l.setHighlight(m.term)
				l.setRows(l.rows, i)
				return
			}
		}
	}
	m.loadThread(p, id)
}

// preview is the list's line under the name.
func (p *peer) preview() string {
	if p.last == "" {
		switch {
		case p.state == peerConnected:
			return "Connected"
		case p.contact:
			return "No messages yet"
		}
		return ""
	}
	text := strings.Join(strings.Fields(p.last), " ")
	if p.lastOut {
		text = "You: " + text
	}
	return shorten(text, 80)
}

// when is the time of the newest message, short: the time today, the
// weekday this week, else the date.
func when(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	t, now = t.Local(), now.Local()
	switch {
	case sameDay(t, now):
		return t.Format("15:04")
	case sameDay(t, now.AddDate(0, 0, -1)):
		return "Yesterday"
	case now.Sub(t) < 6*24*time.Hour && t.Before(now):
		return t.Format("Mon")
	case t.Year() == now.Year():
		return t.Format("2 Jan")
	}
	return t.Format("2 Jan 2006")
}

// unreadTotal counts the unread messages of every thread.
func (m *messenger) unreadTotal() int {
	n := 0
	for _, p := range m.peers {
		if p.listed {
			n += p.unread
		}
	}
	return n
}

func countWord(n int) string { return fmt.Sprintf("(%d)", n) }
