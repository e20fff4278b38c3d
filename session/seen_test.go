package session

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSeenSet_ShowsAResendOnceAndStaysBounded(t *testing.T) {
	s := newSeenSet()
	assert.True(t, s.add("a"))
	assert.False(t, s.add("a"), "a resend is not new")
	s.remove("a")
	assert.True(t, s.add("a"), "an id forgotten (not stored) counts as new again")

	for i := range 10 * seenWindow {
		assert.True(t, s.add(fmt.Sprint(i)))
	}
	assert.Equal(t, seenWindow, s.len(), "memory stays bounded in a long chat")
	assert.False(t, s.add(fmt.Sprint(10*seenWindow-1)), "the newest ids are remembered")
	assert.False(t, s.add(fmt.Sprint(9*seenWindow)), "the whole window is remembered")
	assert.True(t, s.add(fmt.Sprint(9*seenWindow-1)), "older ones are forgotten")
}

func TestSeenSet_RemovedIDsDoNotEvictOthers(t *testing.T) {
	s := newSeenSet()
	for i := range seenWindow {
		s.add(fmt.Sprint(i))
	}
	s.remove("0")
	assert.True(t, s.add("0"), "re-added at the newest position")
	// The slot of the first "0" is now reused: the re-added "0" survives.
	assert.False(t, s.add("0"))
	assert.LessOrEqual(t, s.len(), seenWindow)
}

func BenchmarkSeenSet_Add(b *testing.B) {
	s := newSeenSet()
	for i := 0; b.Loop(); i++ {
		s.add(fmt.Sprint(i))
	}
}
