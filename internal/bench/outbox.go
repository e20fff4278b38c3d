package bench

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/session"
)

// outboxMsgs is how many messages wait for the partner in the outbox row.
const outboxMsgs = 100

// outboxPair is two profiles that are each other's contacts; Bob listens at
// bobAddr when he is online.
type outboxPair struct {
	alice, bob *history.Vault
	bobAddr    string
}

func (r *runner) newOutboxPair() (*outboxPair, error) {
	p := &outboxPair{}
	pass := []byte("scbench")
	for _, v := range []**history.Vault{&p.alice, &p.bob} {
		dir, err := os.MkdirTemp(r.dir, "outbox-")
		if err != nil {
			p.close()
			return nil, err
		}
		name := "Alice"
		if v == &p.bob {
			name = "Bob"
		}
		if *v, err = history.CreateWith(filepath.Join(dir, "profile"), name, pass, cheapParams); err != nil {
			p.close()
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.close()
		return nil, err
	}
	p.bobAddr = ln.Addr().String()
	ln.Close()
	now := time.Now()
	for _, c := range []struct {
		v, of *history.Vault
		addrs []string
	}{{p.alice, p.bob, []string{p.bobAddr}}, {p.bob, p.alice, nil}} {
		id := c.of.Identity().Public()
		if err := c.v.SaveContact(history.Contact{ID: id.Fingerprint(), Key: id.Bytes(), Name: c.of.Name(), TheirName: c.of.Name(),
			Addrs: c.addrs, FirstSeen: now, LastSeen: now}); err != nil {
			p.close()
			return nil, err
		}
	}
	return p, nil
}

func (p *outboxPair) close() {
	for _, v := range []*history.Vault{p.alice, p.bob} {
		if v != nil {
			v.Close()
		}
	}
}

func (p *outboxPair) cfg(v *history.Vault) session.Config {
	return session.Config{Identity: v.Identity(), Name: v.Name(), Store: v}
}

// waitAll waits for n ids on c.
func waitAll(d *driver, c <-chan string, n int, what string) error {
	for range n {
		if _, err := wait(d, c, what); err != nil {
			return err
		}
	}
	return nil
}

// queued measures the outbox: Alice queues outboxMsgs messages while Bob is
// offline; Bob comes online, Alice dials (as her reconnect loop does), and
// the time runs from Bob listening to the last delivered event (the
// handshake included).
func (p *outboxPair) queued() (time.Duration, error) {
	s, err := session.New(p.cfg(p.alice))
	if err != nil {
		return 0, err
	}
	a := drive(s)
	defer a.close()
	bob := p.bob.Identity().Public().Fingerprint()
	text := strings.Repeat("q", rttSize)
	for range outboxMsgs {
		if _, err := s.Send(bob, text); err != nil {
			return 0, err
		}
	}
	if err := waitAll(a, a.queued, outboxMsgs, "queued event"); err != nil {
		return 0, err
	}
	hs, err := session.Host(p.cfg(p.bob), p.bobAddr)
	if err != nil {
		return 0, err
	}
	b := drive(hs)
	defer b.close()
	if _, err := wait(b, b.listening, "listening event"); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := s.ReconnectNow(bob); err != nil {
		return 0, err
	}
	if err := waitAll(a, a.delivered, outboxMsgs, "delivered event"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// live measures the same messages sent on a connection already up.
func (p *outboxPair) live() (time.Duration, error) {
	pair, err := newPair(p.cfg(p.bob), p.cfg(p.alice))
	if err != nil {
		return 0, err
	}
	defer pair.close()
	return pair.send(strings.Repeat("q", rttSize), outboxMsgs, outboxMsgs)
}

func (r *runner) outbox() error {
	p, err := r.newOutboxPair()
	if err != nil {
		return err
	}
	defer p.close()
	res, err := interleave(r.o.OutboxReps, p.queued, p.live)
	if err != nil {
		return err
	}
	q, l := res[0].median(), res[1].median()
	r.rep.add(Row{
		Name: fmt.Sprintf("outbox: partner online → last of %d queued delivered", outboxMsgs), Ours: fmtDur(q),
		Peers: fmt.Sprintf("same %d on a live connection %s", outboxMsgs, fmtDur(l)), Ratio: fmtRatio(float64(q) / float64(l)),
		Note: fmt.Sprintf("median of %d; %d B messages, history on; from the partner listening and the dial (the reconnect loop's, without its backoff) to the last delivered event, handshake included", r.o.OutboxReps, rttSize),
	})
	return nil
}
