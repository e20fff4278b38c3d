package history

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestContainsFold_IgnoresCaseInASCIIAndUnicode(t *testing.T) {
	for _, tc := range []struct {
		s, q string
		want bool
	}{
		{"Hello World", "world", true},
		{"Hello World", "o w", true},
		{"Hello", "hello!", false},
		{"", "", true},
		{"abc", "", true},
		{"ÄRGER im Büro", "ärger", true},
		{"GRÜSSE", "grüsse", true},
		{"straße", "strasse", false},
		{"aaab", "aab", true},
	} {
		t.Run(tc.s+"/"+tc.q, func(t *testing.T) {
			assert.Equal(t, tc.want, containsFold(tc.s, tc.q))
		})
	}
}
