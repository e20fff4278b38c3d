package session

// seenWindow is how many received message ids are remembered per partner
// to recognise a resend (after a lost Ack) and show it once. A sender
// resends only what it has not seen acknowledged, so a window far larger
// than what can be unacknowledged at once (maxQueue) suffices, and the
// memory and time a long chat costs stay bounded.
const seenWindow = 4 * maxQueue

// seenSet remembers the last seenWindow ids received from one partner.
type seenSet struct {
	ids  map[string]uint64 // id -> its number in arrival order
	ring []string          // the ids in arrival order, oldest first once full
	next uint64
}

func newSeenSet() *seenSet {
	return &seenSet{ids: make(map[string]uint64), ring: make([]string, 0, 64)}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	if _, ok := s.ids[id]; ok {
		return false
	}
	if len(s.ring) < seenWindow {
		s.ring = append(s.ring, id)
	} else {
		slot := int(s.next % seenWindow)
		old := s.ring[slot]
		if n, ok := s.ids[old]; ok && n == s.next-seenWindow {
			delete(s.ids, old)
		}
		s.ring[slot] = id
	}
	s.ids[id] = s.next
	s.next++
	return true
}

// remove forgets id, so that a resend counts as new.
func (s *seenSet) remove(id string) { delete(s.ids, id) }

func (s *seenSet) len() int { return len(s.ids) }
