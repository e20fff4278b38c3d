package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/session"
)

// Selecting a contact shows its whole thread: every message ever
// exchanged with its key.
func TestHistory_ThreadShowsTheWholeHistoryOfTheKey(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	require.Len(t, c.order, 2)
	assert.Equal(t, bobFP, c.order[0].id, "newest activity first")
	assert.Equal(t, "You: Great, see you on Friday", c.viewOf(c.order[0]).preview)

	f.selectContact(bobFP)
	texts := shownTexts(c.thread())
	assert.True(t, containsText(texts, "Did the parcel arrive?"), "%q", texts)
	assert.True(t, containsText(texts, "Yes, this morning. Thanks!"), "%q", texts)
	assert.True(t, containsText(texts, "Great, see you on Friday"), "%q", texts)
}

// The search field above the contact list searches every thread; a hit
// opens its thread at that message, outlined and highlighted.
func TestHistory_SearchOpensTheThreadAtTheHit(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()

	test.Type(c.search, "parcel")
	c.search.OnSubmitted(c.search.Text)
	require.Equal(t, 2, c.list.Length(), "one hit in each thread")

	var carolHit = -1
	for i, h := range c.hits {
		if h.Conversation.Fingerprint == carolFP {
			carolHit = i
		}
	}
	require.GreaterOrEqual(t, carolHit, 0)
	c.list.Select(carolHit)
	require.NotNil(t, c.selected)
	assert.Equal(t, carolFP, c.selected.id)
	require.Equal(t, "d", c.thread().marked, "the hit is outlined")
	var bold []string
	for _, o := range test.LaidOutObjects(c.thread()) {
		if b, ok := o.(*bubble); ok && b.Visible() && b.rend != nil {
			for _, s := range b.rend.text.Segments {
				if ts, ok := s.(interface{ Textual() string }); ok && ts.Textual() == "Parcel" {
					bold = append(bold, ts.Textual())
				}
			}
		}
	}
	assert.NotEmpty(t, bold, "the search term is highlighted in the bubble")

	// a thread shown before, with live rows, keeps them in place
	c.runSearch("")
	f.comesIn(1, partner(session.TrustKnown))
	f.says(1, bobFP, "live1", "a parcel came today")
	// the session writes it to the history too
	f.vault.threads[bobFP] = append(f.vault.threads[bobFP], tm("live1", false, time.Now(), "a parcel came today"))
	f.selectContact(bobFP)
	before := rowTexts(c.thread())
	c.runSearch("parcel")
	for i, h := range c.hits {
		if h.Message.ID == "a" {
			c.list.Select(i)
		}
	}
	assert.Equal(t, bobFP, c.selected.id)
	assert.Equal(t, "a", c.thread().marked)
	assert.Equal(t, before, rowTexts(c.thread()), "the notes and live messages stay where they were")

	c.search.SetText("")
	assert.Equal(t, 2, c.list.Length(), "the contacts are back")
	assert.Empty(t, c.hits)
}

func TestHistory_NothingFound(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	c.runSearch("zebra")
	assert.Equal(t, 0, c.list.Length())
	assert.True(t, c.nothing.Visible())
	assert.Contains(t, c.nothing.Text, "zebra")
}
