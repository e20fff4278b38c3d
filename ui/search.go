package ui

import (
	"strings"

	"fyne.io/fyne/v2"
)

// Search runs across every thread from the field above the contact list:
// the list shows the messages found, and picking one opens its thread at
// that message, outlined, with the term highlighted.

// runSearch searches every thread for text; "" goes back to the contacts.
func (m *messenger) runSearch(text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		m.term, m.hits = "", nil
		for _, p := range m.peers {
			if p.thread != nil && p.thread.highlight != "" {
				p.thread.setHighlight("")
			}
		}
		m.list.UnselectAll()
		m.refreshList()
		return
	}
	v := m.u.vault
	if v == nil {
		return
	}
	m.u.async(func() {
		hits, err := v.Search(text)
		fyne.Do(func() {
			if err != nil {
				m.u.showProblem("Could not search the history.", err)
				return
			}
			m.term, m.hits = text, hits
			m.list.UnselectAll()
			m.refreshList()
		})
	})
}

// snippet cuts text around the first match of term.
func snippet(text, term string, around int) string {
	r := []rune(text)
	i := strings.Index(strings.ToLower(text), strings.ToLower(term))
	if i < 0 || len(r) <= 2*around {
		return text
	}
	ri := len([]rune(text[:i]))
	start := max(0, ri-around)
	end := min(len(r), ri+len([]rune(term))+around)
	s := string(r[start:end])
	if start > 0 {
		s = "…" + s
	}
	if end < len(r) {
		s += "…"
	}
	return s
}
