package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzSeeds returns the payloads of the test vectors.
func fuzzSeeds(f *testing.F) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(f, err)
	var seeds [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		vec, err := parseVector(file, b)
		require.NoError(f, err)
		seeds = append(seeds, vec.payload)
	}
	return seeds
}

// FuzzScanRecords feeds arbitrary bytes to the history file parser: it must
// never panic, and never report a good end past the data.
func FuzzScanRecords(f *testing.F) {
	var all []byte
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
		all = append(all, s...)
	}
	f.Add(all)
	f.Add([]byte(recMagic))
	dataKey := det("data key", 32)
	var fid fileID
	copy(fid[:], det("file id", fileIDSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys := keyring{dataKey: dataKey}
		ix := newIndex()
		res, err := scanRecords(bytes.NewReader(data), 0, int64(len(data)), fid, &keys, ix.apply, ix.notice)
		if err != nil {
			t.Fatal(err)
		}
		if res.good < 0 || res.good > int64(len(data)) {
			t.Fatalf("good end %d outside 0..%d", res.good, len(data))
		}
		rd := &recordReader{r: bytes.NewReader(data), fid: fid, keys: &keys}
		for _, s := range ix.summaries() {
			cv, err := ix.find(s.ID)
			if err != nil {
				t.Fatal(err)
			}
			snap := cv.snapshot()
			if _, err := snap.transcript(rd); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzDecodeRecord checks that any plaintext that decodes re-encodes to a
// record that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range []record{
		{kind: kindStart, time: t0, role: "host", partner: "Bob", fingerprint: "ab", addr: "a:1"},
		{kind: kindMessage, outgoing: true, time: t0, id: "1", text: "hi"},
		{kind: kindStatus, delivered: true, id: "1"},
		{kind: kindEnd, time: t0, reason: "bye"},
	} {
		f.Add(r.marshal())
	}
	f.Add([]byte{9})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := decodeRecord(string(p))
		if err != nil {
			return
		}
		again, err := decodeRecord(string(r.marshal()))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if d1, d2 := describe(r), describe(again); len(d1) != len(d2) || !equalKV(d1, d2) {
			t.Fatalf("round trip changed the record: %v != %v", d1, d2)
		}
	})
}

func equalKV(a, b []kv) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzReadMarks feeds arbitrary sealed-profile plaintexts (the JSON) to the
// profile reader and the read marks to the threads of a small history: no
// panic, no unread count below zero or above the messages received, and a
// profile that parses keeps parsing after the marks are fixed and saved.
func FuzzReadMarks(f *testing.F) {
	f.Add([]byte(`{"version":3,"name":"A","read":{"` + fpBob + `":1,"` + fpCarol + `":-4}}`))
	f.Add([]byte(`{"version":2,"name":"A"}`))
	f.Add([]byte(`{"name":"A","pins":[{"name":"Bob","fingerprint":"` + fpBob + `"}]}`))
	f.Add([]byte(`{"version":3,"read":{"":9223372036854775807}}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		var pd profileData
		if json.Unmarshal(plain, &pd) != nil || pd.Version > profileVersion {
			return
		}
		pd.migrate()
		v := &Vault{idx: newIndex(), prof: pd}
		for i, fp := range []string{fpBob, fpCarol} {
			var c convID
			c[0] = byte(i + 1)
			v.idx.apply(c, 0, recordAt{}, record{kind: kindStart, fingerprint: fp, partner: "x", role: "host"})
			for j := range 3 {
				v.idx.apply(c, uint64(j+1), recordAt{off: int64(100*i + j + 1)}, record{kind: kindMessage, id: fmt.Sprint(j), outgoing: j == 1})
			}
		}
		v.fixReadMarks()
		for contact, n := range v.prof.Read {
			require.Positive(t, n, contact)
			require.Positive(t, v.idx.incoming(contact), "a mark without a thread stayed")
		}
		for _, fp := range []string{fpBob, fpCarol} {
			u := max(v.idx.incoming(fp)-v.prof.Read[fp], 0)
			require.LessOrEqual(t, u, 2)
		}
		b, err := json.Marshal(v.prof)
		require.NoError(t, err)
		var back profileData
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, len(v.prof.Read), len(back.Read))
		for c, n := range v.prof.Read {
			require.Equal(t, n, back.Read[c])
		}
	})
}
