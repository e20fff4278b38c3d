package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHistory_ListsAndOpensConversation(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	test.Tap(f.ui.choose.pastButton)
	h := f.ui.history
	require.NotNil(t, h)
	require.Equal(t, 2, h.list.Length())
	assert.Equal(t, "Bob", h.convs[0].Partner, "newest first")

	h.list.Select(0)

	assert.Equal(t, "c1", h.open)
	texts := shownTexts(h.view)
	assert.True(t, containsText(texts, "Did the parcel arrive?"), "%q", texts)
	assert.True(t, containsText(texts, "Yes, this morning. Thanks!"), "%q", texts)
	assert.True(t, containsText(texts, "Partner has disconnected"), "%q", texts)
	assert.Contains(t, h.title.Text, "3 messages")
}

func TestHistory_SearchHighlightsHits(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	f.ui.showHistory()
	h := f.ui.history

	test.Type(h.search, "parcel")
	h.search.OnSubmitted(h.search.Text)
	require.Equal(t, 2, h.list.Length(), "one hit in each conversation")
	assert.Equal(t, "2 messages found", h.info.Text)

	h.list.Select(1)
	assert.Equal(t, "c0", h.open)
	require.Equal(t, "d", h.view.marked, "the hit is outlined")
	var bold []string
	for _, o := range test.LaidOutObjects(h.view) {
		if b, ok := o.(*bubble); ok && b.Visible() && b.rend != nil {
			for _, s := range b.rend.text.Segments {
				if ts, ok := s.(interface{ Textual() string }); ok && ts.Textual() == "Parcel" {
					bold = append(bold, ts.Textual())
				}
			}
		}
	}
	assert.NotEmpty(t, bold, "the search term is highlighted in the bubble")

	h.search.SetText("")
	assert.Equal(t, 2, h.list.Length())
	assert.Equal(t, "2 conversations, newest first", h.info.Text)
}

func TestHistory_NothingFound(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	f.ui.showHistory()
	h := f.ui.history
	h.runSearch("zebra")
	assert.Equal(t, 0, h.list.Length())
	assert.True(t, h.nothing.Visible())
}
