package session

// The receiving side of a link: the reader goroutine's loop, which opens
// the partner's records and feeds them to the chat machine, and the
// clean-up once it stops.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/transport"
)

// readLoop reads records until the connection ends and returns why.
func (l *link) readLoop() error {
	for {
		_ = l.conn.SetReadDeadline(time.Now().Add(l.s.cfg.PingTimeout))
		m, rec, err := l.readMsg()
		if err != nil {
			return err
		}
		if done, err := l.handle(m, rec); done || err != nil {
			return err
		}
	}
}

// readMsg reads, opens and parses the partner's next record.
func (l *link) readMsg() (*wireMsg, []byte, error) {
	rec, err := l.conn.ReadFrame()
	if err != nil {
		return nil, nil, err
	}
	pt, err := l.layer.Open(rec)
	if err != nil {
		return nil, nil, err
	}
	m, err := parseMsg(pt)
	if err != nil {
		return nil, nil, err
	}
	return m, rec, nil
}

// errBye marks a goodbye from the partner.
type errBye struct{ reason string }

func (e *errBye) Error() string { return "partner said goodbye: " + e.reason }

// handle acts on one message; done reports a goodbye.
func (l *link) handle(w *wireMsg, rec []byte) (done bool, err error) {
	l.mu.Lock()
	e, err := l.m.record(w)
	l.mu.Unlock()
	if err != nil {
		var bye *errBye
		return errors.As(err, &bye), err
	}
	_ = l.apply(e)
	if e.receive != nil {
		l.receiveText(e.receive, rec)
	}
	if e.file != nil {
		l.receiveFile(e.file)
	}
	return false, nil
}

// receiveText stores a message, acknowledges it once it is durable, and
// then shows it. A message already received (a resend after a lost ack,
// also from before a restart) is acknowledged again and not shown.
func (l *link) receiveText(m *wireMsg, rec []byte) {
	id := hex.EncodeToString(m.id[:])
	ackNow := func() { _ = l.enqueue(writeItem{pt: encodeAck(m.id)}) }
	conv := l.history()
	switch l.s.out.receiving(l.s.box, l.fingerprint, id, ackNow, conv == nil) {
	case recvDuplicate:
		if l.conn.Buffered() > 0 || !l.sendNow(writeItem{pt: encodeAck(m.id)}) {
			ackNow()
		}
		return
	case recvWaiting:
		return // acknowledged when the first copy is durable
	}
	p := l.partnerCopy()
	show := MessageEvent{Link: l.id, Contact: l.fingerprint, Message: Message{
		ID: id, From: p.Label(), Text: m.text, Time: m.time, Wire: transport.Frame(rec),
	}}
	if conv == nil {
		// No history: in memory only, acknowledged at once.
		if l.conn.Buffered() > 0 || !l.sendNow(writeItem{pt: encodeAck(m.id)}) {
			ackNow()
		}
		l.s.emit(show)
		return
	}
	// durable runs on the history's goroutine once the message is stored,
	// and must not block. A message that could not be stored is not
	// acknowledged, and the chat stops: the sender keeps it queued.
	conv.AppendMessage(history.MessageRecord{ID: id, Time: m.time, Text: m.text}, func(err error) {
		l.s.out.received(l.fingerprint, id, err)
		if err != nil {
			l.end(EndWeLeft, fmt.Errorf("%w, so the message was not acknowledged: %w", errHistoryFailed, err))
			return
		}
		ackNow()
		l.s.worker.post(func() { l.s.emit(show) })
	})
}

// cleanup runs once the reader stops: unacknowledged messages stay in the
// outbox, the history records the end, and the front end hears why.
func (l *link) cleanup(readErr error) Event {
	var (
		bye   *errBye
		byeIs EndReason
	)
	l.mu.Lock()
	ours := l.endReason
	if errors.As(readErr, &bye) {
		byeIs = l.m.byeReason(bye)
	}
	l.mu.Unlock()
	var e Ended
	switch {
	case byeIs != 0:
		if byeIs == EndPartnerLeft && l.s.redial.pause(l.fingerprint) {
			// The partner disconnected: we do not call back either.
			l.s.emit(ReconnectPaused{Contact: l.fingerprint})
		}
		l.end(byeIs, nil)
		e = l.ended(nil)
		e.Reason, e.Peer, e.Err = byeIs, bye.reason, nil
	case ours != 0:
		l.end(ours, nil) // the reader and writer stop; a goodbye's wait ends
		e = l.ended(nil)
	default:
		r, _ := reasonOf(readErr)
		l.end(r, readErr)
		e = l.ended(readErr)
	}
	l.mu.Lock()
	l.m.finish()
	if l.acceptTimer != nil {
		l.acceptTimer.Stop()
	}
	l.mu.Unlock()
	l.filesDisconnected()
	if errors.Is(e.Err, errHistoryFailed) {
		l.s.emit(HistoryError{Contact: l.fingerprint, Err: e.Err})
	}
	if conv := l.history(); conv != nil {
		if herr := conv.End(e.Reason.String(), l.s.cfg.Now()); herr != nil {
			l.s.emit(HistoryError{Contact: l.fingerprint, Err: fmt.Errorf("session: the history is not being saved: %w", herr)})
		}
	}
	return e
}
