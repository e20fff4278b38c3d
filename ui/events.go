package ui

import (
	"fmt"
	"slices"
	"time"

	"github.com/securechat/securechat/session"
)

// handle applies one controller event on the UI goroutine. Every event is
// routed by its link or contact to the thread and the list; an event for a
// link or key never seen, or in an unexpected order, changes only what it
// names and never panics.
func (m *messenger) handle(ev session.Event) {
	if m.closed {
		return
	}
	switch e := ev.(type) {
	case session.Listening:
		m.listening, m.listenAddrs, m.listenNote, m.listenErr = true, e.Addrs, "", nil
		m.refreshListening()
		m.refreshTitle()
	case session.ListenStopped:
		m.listening = false
		if e.Err != nil {
			m.listenNote, m.listenErr = "Stopped listening: the network failed.", e.Err
			m.publishTor(0)
		}
		m.refreshListening()
		m.refreshTitle()
	case session.Handshaking:
		li := m.link(e.Link)
		li.incoming = e.Incoming
		if e.Contact != "" {
			li.contact = e.Contact
			if p, ok := m.peers[e.Contact]; ok && p.state != peerConnected && (p.link == 0 || p.link == e.Link) {
				// the session reports a dial before it connects
				p.link, p.state = e.Link, peerHandshaking
				if !e.Incoming {
					p.state = peerDialing
					li.dialed, p.asked = p.asked, false
				}
				m.refreshPeer(p)
			}
		}
		if li.viaDialog && m.u.choose != nil {
			m.u.choose.progress("Securing the connection with " + e.Addr + "…")
		}
	case session.Request:
		m.request(e)
	case session.Waiting:
		li := m.link(e.Link)
		li.contact = e.Partner.Fingerprint
		p := m.peerFor(e.Partner)
		if p.state != peerConnected {
			p.link, p.state = e.Link, peerAwaiting
		}
		if li.viaDialog && m.u.choose != nil {
			m.u.choose.progress("Waiting for " + p.label() + " to accept…")
		}
		m.refreshPeer(p)
	case session.Connected:
		m.connected(e)
	case session.MessageEvent:
		m.message(e)
	case session.Queued:
		m.queued(e)
	case session.Delivered:
		m.setStatus(e.Contact, e.ID, statusDelivered)
	case session.Cancelled:
		m.setStatus(e.Contact, e.ID, statusCancelled)
	case session.Failed:
		m.notQueued(e)
	case session.Reconnecting:
		if p, ok := m.peers[e.Contact]; ok && e.Contact != "" {
			p.reconnectAt, p.paused = e.At, false
			m.refreshPeer(p)
		}
	case session.ReconnectPaused:
		if p, ok := m.peers[e.Contact]; ok && e.Contact != "" {
			p.reconnectAt, p.paused = time.Time{}, true
			m.refreshPeer(p)
		}
	case session.Ended:
		m.ended(e)
	case session.TurnedAway:
		m.listenNote = ""
		if m.listening {
			m.listenStatus.SetText(fmt.Sprintf("Listening · a caller from %s was turned away (%s)", hostOf(e.Addr), turnedAwayWords(e.Reason)))
		}
	case session.HistoryError:
		// the session stops a chat it cannot save; its Ended follows
		msg := "The chat was stopped: its messages could not be saved on this computer."
		if p, ok := m.peers[e.Contact]; ok {
			msg = "The chat with " + p.label() + " was stopped: its messages could not be saved on this computer."
			m.note(p, msg, noteDanger)
		}
		m.u.showProblem(msg, e.Err)
	case session.Problem:
		m.u.showProblem("Something went wrong in the connection.", e.Err)
	case session.Closed:
		m.closed = true
		m.listening = false
		m.refreshListening()
	}
}

// link returns what is known of link id, making an entry if it is new.
func (m *messenger) link(id session.LinkID) *linkInfo {
	li, ok := m.links[id]
	if !ok {
		li = &linkInfo{}
		m.links[id] = li
	}
	return li
}

// refreshPeer redraws what shows p: its row, and the thread if selected.
func (m *messenger) refreshPeer(p *peer) {
	m.refreshList()
	if p == m.selected {
		m.refreshThread()
	}
	m.refreshTitle()
}

// request applies the trust policy to an authenticated partner: keys
// decide, never names. A contact is let in. A key we dialed that is new or
// changed is asked about at once (the user is waiting for it); one that
// called us waits under Requests, without disturbing the thread shown.
func (m *messenger) request(e session.Request) {
	li := m.link(e.Link)
	fp := e.Partner.Fingerprint
	dialedContact := li.contact // whom we dialed, from Handshaking
	li.contact = fp
	p := m.peerFor(e.Partner)
	if p.state != peerConnected {
		p.link, p.state = e.Link, peerDeciding
	}
	ask := e.Partner.Trust == session.TrustNew || e.Partner.Trust == session.TrustChanged || e.Partner.LooksLike != ""
	// another key answered a dial of ours (a reconnect, too): not a caller
	ourDial := !li.incoming && e.Partner.Trust == session.TrustChanged && e.Partner.Expected != ""
	looking := m.selected != nil && (m.selected == p || (dialedContact != "" && m.selected.id == dialedContact))
	switch {
	case !ask:
		m.accept(fp)
	case li.dialed, ourDial && looking:
		if li.viaDialog && m.u.choose != nil {
			m.u.choose.progress("Reached " + e.Partner.Name + ": waiting for your decision…")
		}
		m.askTrust(e.Partner, false)
	default:
		m.requests = slices.DeleteFunc(m.requests, func(r *request) bool { return r.partner.Fingerprint == fp })
		m.requests = append(m.requests, &request{link: e.Link, partner: e.Partner, incoming: !ourDial})
		m.refreshRequests()
		m.u.notifyRequest(e.Partner)
	}
	m.refreshPeer(p)
}

// accept and decline tell the controller; accepting saves the contact and
// opens the history (vault writes), so both run off the UI goroutine.
func (m *messenger) accept(fp string) {
	m.dropRequest(fp)
	m.command("accept", func(c session.Controller) error { return c.Accept(fp) })
}

func (m *messenger) decline(fp string) {
	m.dropRequest(fp)
	m.command("decline", func(c session.Controller) error { return c.Decline(fp) })
}

// command runs a controller call that may wait on the network or the
// vault off the UI goroutine, and says in words if it failed (what: the
// verb, "accept").
func (m *messenger) command(what string, call func(session.Controller) error) {
	ctrl := m.ctrl
	m.u.async(func() {
		if err := call(ctrl); err != nil {
			m.u.showProblem(problemWords(what, err), err)
		}
	})
}

func (m *messenger) dropRequest(fp string) {
	n := len(m.requests)
	m.requests = slices.DeleteFunc(m.requests, func(r *request) bool { return r.partner.Fingerprint == fp })
	if len(m.requests) != n {
		m.refreshRequests()
		m.refreshTitle()
	}
}

func (m *messenger) connected(e session.Connected) {
	li := m.link(e.Link)
	li.contact = e.Partner.Fingerprint
	p := m.peerFor(e.Partner)
	m.dropRequest(p.id)
	if m.dialogFor == p.id {
		m.closeDialog()
	}
	p.link, p.state = e.Link, peerConnected
	p.viaTor = m.throughTor(e.Partner.Addr, li.incoming)
	p.note, p.noteErr = "", nil
	p.reconnectAt, p.paused = time.Time{}, false
	m.refreshContact(p)
	m.linkChanged(p)
	// listed now, but not moved up: rows that jump when someone merely
	// connects would take a click meant for another contact
	if !p.listed {
		p.listed = true
		if p.active.IsZero() {
			p.active = clock()
		}
		m.resort()
	}
	through := ""
	if p.viaTor {
		through = " through Tor"
	}
	m.note(p, fmt.Sprintf("Connected to %s%s. Messages are end-to-end encrypted.", p.label(), through), noteInfo)
	byHand := m.acceptedByHand[p.id]
	delete(m.acceptedByHand, p.id)
	switch {
	case li.viaDialog:
		m.rememberAddr(li.addr)
		if c := m.u.choose; c != nil && c.dialing == e.Link {
			c.close()
		}
		m.selectPeer(p)
	case byHand && m.selected == nil && m.u.choose == nil:
		m.selectPeer(p) // nothing else was shown: show whom the user let in
	}
	m.refreshPeer(p)
	if p == m.selected && m.u.win.Canvas().Focused() == nil {
		m.focusInput() // the input of the thread shown came on
	}
}

func (m *messenger) message(e session.MessageEvent) {
	msg := e.Message
	id := e.Contact
	if id == "" {
		if li, ok := m.links[e.Link]; ok {
			id = li.contact
		}
	}
	if id == "" {
		return // a message of a link whose key we never learned: cannot be
	}
	p := m.peer(id)
	if p.theirName == "" && !msg.Outgoing {
		p.theirName = msg.From
	}
	if msg.Outgoing {
		// our message on the wire: first sent, or sent again on a new
		// link; shown already (by its Queued, or from the history after
		// a restart) unless an event was missed
		m.showOutgoing(p, msg, statusQueued)
		return
	}
	l := m.ensureThread(p)
	if r, ok := l.byID[msg.ID]; ok && msg.ID != "" { // shown already: never twice
		if len(msg.Wire) > 0 {
			r.wire = msg.Wire
		}
		l.changed(msg.ID)
		return
	}
	r := &row{kind: rowMessage, id: msg.ID, from: p.label(), text: msg.Text, time: msg.Time, wire: msg.Wire}
	l.add(r)
	p.last, p.lastOut, p.lastTime = msg.Text, msg.Outgoing, msg.Time
	if p.lastTime.IsZero() {
		p.lastTime = clock()
	}
	if !msg.Outgoing {
		if p != m.selected || !m.u.focused {
			p.unread++
		} else {
			p.unread = 1 // and read at once, below
		}
		m.u.notifyMessage(p.label(), msg.Text)
	}
	m.touch(p, p.lastTime)
	m.markRead(p)
	m.refreshTitle()
}

// rowOf finds message id in contact's thread.
func (m *messenger) rowOf(contact, id string) (*row, *messageList) {
	if p, ok := m.peers[contact]; ok && p.thread != nil {
		if r, ok := p.thread.byID[id]; ok {
			return r, p.thread
		}
	}
	for _, p := range m.peers { // a contact left out of the event
		if p.thread != nil {
			if r, ok := p.thread.byID[id]; ok {
				return r, p.thread
			}
		}
	}
	return nil, nil
}

func (m *messenger) ended(e session.Ended) {
	li := m.link(e.Link)
	delete(m.links, e.Link)
	id := e.Contact
	if id == "" {
		id = li.contact
	}
	if id != "" && m.dialogFor == id {
		m.closeDialog()
	}
	// a request that gave up
	n := len(m.requests)
	m.requests = slices.DeleteFunc(m.requests, func(r *request) bool { return r.link == e.Link })
	if len(m.requests) != n {
		m.refreshRequests()
		m.refreshTitle()
	}
	var p *peer
	if id != "" {
		p = m.peers[id]
	}
	who := ""
	if p != nil {
		who = p.label()
	}
	words := endWords(e.Reason, who, e.Addr, e.Peer)
	if li.viaDialog {
		if c := m.u.choose; c != nil && c.dialing == e.Link && e.Reason == session.EndCancelled {
			c.stopped() // the user cancelled: nothing to explain
		} else if c != nil && c.dialing == e.Link {
			c.failed(words, e.Err)
		} else if !e.Connected && e.Reason != session.EndCancelled {
			m.u.showProblem(words, e.Err)
		}
	}
	if p == nil || (p.link != e.Link && p.link != 0) {
		return // an older link, replaced; or one of a key never shown
	}
	p.link = 0
	p.state = peerOffline
	m.linkChanged(p)
	switch {
	case e.Connected && e.Reason == session.EndWeLeft && e.Err != nil:
		// stopped by us for a reason already shown (a history error)
	case e.Connected:
		level := noteWarning
		if e.Reason == session.EndWeLeft {
			level = noteInfo
		}
		m.note(p, words, level)
	case !li.incoming && !e.Incoming && e.Reason != session.EndCancelled:
		// a dial that failed, ours or the reconnect loop's
		p.note, p.noteErr = words, e.Err
	}
	m.refreshPeer(p)
}

// hostOf is an address without its port.
func hostOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			h := addr[:i]
			if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
				h = h[1 : len(h)-1]
			}
			return h
		}
	}
	return addr
}

func turnedAwayWords(r session.EndReason) string {
	if r == session.EndNotAdmitted {
		return "not a contact"
	}
	return "too many callers"
}
