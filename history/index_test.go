package history

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestIDTable_FindsEveryKeyAcrossGrowth(t *testing.T) {
	var tb idTable
	_, ok := tb.get(idKey{42, 42})
	require.False(t, ok, "empty table")
	const n = 10000
	key := func(i int) idKey {
		// the zero key for i = 0 is stored with b = 1; keys that share
		// their low half (probing) differ in the other
		return idKey{uint64(i) * 0x9e3779b97f4a7c15 & 0xffff, uint64(i)}
	}
	for i := range n {
		h := key(i)
		v, ok := tb.getOrPut(h, int32(i))
		require.False(t, ok)
		require.Equal(t, int32(i), v)
	}
	for i := range n {
		h := key(i)
		v, ok := tb.get(h)
		require.True(t, ok, "key %d", i)
		require.Equal(t, int32(i), v)
		v, ok = tb.getOrPut(h, -1)
		require.True(t, ok, "key %d again", i)
		require.Equal(t, int32(i), v)
	}
	require.Equal(t, n, tb.n)
	_, ok = tb.get(idKey{key(12345).a, 12345})
	require.False(t, ok)
	_, ok = tb.get(idKey{key(5).a, 6})
	require.False(t, ok, "the same first half is not the same key")
}

func TestRefList_KeepsOrderAcrossBlocks(t *testing.T) {
	var l refList
	for i := range 3*refBlock + 5 {
		l.append(msgRef{off: int64(i)})
	}
	require.Equal(t, 3*refBlock+5, l.len())
	all := l.clone()
	for i, m := range all {
		require.Equal(t, int64(i), m.off)
		require.Equal(t, int64(i), l.at(int32(i)).off)
	}
}
