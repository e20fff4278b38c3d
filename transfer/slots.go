package transfer

import (
	"slices"
	"time"

	"github.com/securechat/securechat/filexfer"
)

// The offer slots of a contact (peer): at most filexfer.MaxWaitingOffers
// of our offers unanswered on its link; the others wait, oldest first,
// and go as earlier ones are answered (xfer.offerOn, answered, promote).

// resetSlots frees every offer slot for the new link l (nil: none).
func (p *peer) resetSlots(l Link) {
	p.slotMu.Lock()
	defer p.slotMu.Unlock()
	p.slotLink, p.offered, p.held, p.slots = l, make(map[*xfer]bool), nil, filexfer.MaxWaitingOffers
}

// busyRetry is when the places a busy Decline took are ours again.
var busyRetry = filexfer.WithdrawnHold

// noRoom takes the partner's busy Decline of x, offered on l: x waits
// for a slot again, and until the next link there are only as many slots
// as the partner keeps offers of ours now.
func (p *peer) noRoom(x *xfer, l Link) {
	p.slotMu.Lock()
	defer p.slotMu.Unlock()
	if p.slotLink != l || !p.offered[x] {
		return
	}
	delete(p.offered, x)
	p.slots = len(p.offered)
	p.hold(x)
	// The partner's count of our withdrawn offers is over after
	// filexfer.WithdrawnHold: then every place is ours again, even
	// with no answer to free one (slots may be 0 now).
	time.AfterFunc(busyRetry, func() {
		p.slotMu.Lock()
		if p.slotLink == l {
			p.slots = filexfer.MaxWaitingOffers
		}
		p.slotMu.Unlock()
		p.promoteNext()
	})
}

// hold queues x for a slot, oldest first; slotMu is held.
func (p *peer) hold(x *xfer) {
	if !slices.Contains(p.held, x) {
		i, _ := slices.BinarySearchFunc(p.held, x, func(a, b *xfer) int { return a.rec.Time.Compare(b.rec.Time) })
		p.held = slices.Insert(p.held, i, x)
	}
}

// takeSlot gives x a free offer slot on l, or queues it for one, oldest
// first; false when x must wait.
func (p *peer) takeSlot(x *xfer, l Link) bool {
	p.slotMu.Lock()
	defer p.slotMu.Unlock()
	switch {
	case p.slotLink != l:
		return false // l is gone; the next link offers x again
	case p.offered[x]:
		return true
	case len(p.offered) < p.slots:
		p.offered[x] = true
		return true
	}
	p.hold(x)
	return false
}

// release frees x's slot or place, and offers the next one waiting.
func (p *peer) release(x *xfer) {
	p.slotMu.Lock()
	had := p.offered[x]
	delete(p.offered, x)
	p.held = slices.DeleteFunc(p.held, func(y *xfer) bool { return y == x })
	p.slotMu.Unlock()
	if had {
		p.promoteNext()
	}
}

// promoteNext hands the free slots to the oldest transfers waiting for
// one. Each offer goes from a goroutine of its own: the caller may hold
// another transfer's mu.
func (p *peer) promoteNext() {
	p.slotMu.Lock()
	defer p.slotMu.Unlock()
	for free := p.slots - len(p.offered); free > 0 && len(p.held) > 0 && p.slotLink != nil; free-- {
		next, l := p.held[0], p.slotLink
		p.held = p.held[1:]
		go next.promote(l)
	}
}
