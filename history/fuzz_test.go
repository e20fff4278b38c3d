package history

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/securechat/securechat/profile"
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
		ix.scanning = true // as at open
		res, err := scanRecords(bytes.NewReader(data), 0, int64(len(data)), fid, &keys, ix.apply, ix.notice)
		if err != nil {
			t.Fatal(err)
		}
		ix.finishScan()
		if res.good < 0 || res.good > int64(len(data)) {
			t.Fatalf("good end %d outside 0..%d", res.good, len(data))
		}
		checkOutboxIndex(t, ix)
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
		{kind: kindStart, time: t0, role: roleOutboxName, partner: "Bob", fingerprint: "ab"},
		{kind: kindStatus, cancelled: true, id: "1"},
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
		p, err := profile.Parse(plain)
		if err != nil {
			return
		}
		v := &Vault{idx: newIndex(), prof: p}
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
		b, err := v.prof.Marshal()
		require.NoError(t, err)
		back, err := profile.Parse(b)
		require.NoError(t, err)
		require.Equal(t, len(v.prof.Read), len(back.Read))
		for c, n := range v.prof.Read {
			require.Equal(t, n, back.Read[c])
		}
	})
}

// checkOutboxIndex checks the index's outbox state: every message still
// queued is listed as pending with its text, and nothing else is.
func checkOutboxIndex(t *testing.T, ix *index) {
	for contact, th := range ix.contacts {
		queued := 0
		for j, r := range th.out {
			st := r.ref().status
			_, pending := th.pending[int32(j)]
			if (st == stQueued) != pending {
				t.Fatalf("contact %s: message %d has status %s, pending %v", contact, j, statusNames[st], pending)
			}
			if st == stQueued {
				queued++
			}
		}
		if queued != len(th.pending) {
			t.Fatalf("contact %s: %d queued, %d pending", contact, queued, len(th.pending))
		}
	}
}

// FuzzOutbox applies arbitrary sequences of outbox and conversation records
// of two contacts to the index, in several streams, and compares the
// outbox and the received ids with a model: a queued message stays listed
// until it is delivered or cancelled, delivered wins over cancelled, a mark
// of another contact's message or an unknown id changes nothing, and an id
// is received only from the contact that sent it.
func FuzzOutbox(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 3, 1, 1, 2, 2})
	f.Add([]byte{0, 1, 4, 0, 1, 1, 5, 17, 2, 1, 1, 1})
	f.Add([]byte{3, 7, 3, 7, 19, 7, 0, 7, 16, 7})
	f.Add([]byte{3, 7, 3, 7, 19, 7, 0, 7, 16, 7, 4})
	f.Fuzz(func(t *testing.T, prog []byte) {
		ix := newIndex()
		// An odd program is read as at open: received ids are added at
		// the end; an even one as written, one by one.
		ix.scanning = len(prog)%2 == 1
		contacts := []string{fpBob, fpCarol}
		type stream struct {
			c   convID
			seq uint64
		}
		var streams []*stream
		open := func(k int, outbox bool) *stream {
			s := &stream{}
			s.c[0], s.c[1] = byte(len(streams)), byte(len(streams)>>8)
			s.c[15] = 1
			streams = append(streams, s)
			role := "host"
			if outbox {
				role = roleOutboxName
			}
			ix.apply(s.c, 0, recordAt{}, record{kind: kindStart, role: role, fingerprint: contacts[k]})
			s.seq = 1
			return s
		}
		cur := map[[2]int]*stream{} // the open stream of contact k, outbox or not
		off := int64(logHeaderSize)
		put := func(k int, outbox bool, r record) {
			s := cur[[2]int{k, b2i(outbox)}]
			if s == nil {
				s = open(k, outbox)
				cur[[2]int{k, b2i(outbox)}] = s
			}
			ix.apply(s.c, s.seq, recordAt{off: off, size: 100}, r)
			s.seq++
			off += 100
		}
		type state struct {
			st   uint8
			text string
		}
		model := [2]map[string]*state{{}, {}}
		var order [2][]string
		received := [2]map[string]bool{{}, {}}
		for i := 0; i+1 < len(prog); i += 2 {
			op, arg := prog[i], prog[i+1]
			k := int(op>>4) & 1
			id := fmt.Sprint(arg % 8)
			switch op & 7 {
			case 0: // queue
				if model[k][id] != nil {
					continue // QueueMessage refuses an id already queued
				}
				text := fmt.Sprint("text ", i)
				put(k, true, record{kind: kindMessage, outgoing: true, id: id, text: text})
				model[k][id] = &state{st: stQueued, text: text}
				order[k] = append(order[k], id)
			case 1: // delivered
				put(k, true, record{kind: kindStatus, delivered: true, id: id})
				if m := model[k][id]; m != nil {
					m.st = stDelivered
				}
			case 2: // cancelled
				put(k, true, record{kind: kindStatus, cancelled: true, id: id})
				if m := model[k][id]; m != nil && m.st == stQueued {
					m.st = stCancelled
				}
			case 3: // received
				put(k, false, record{kind: kindMessage, id: id, text: "in"})
				received[k][id] = true
			case 4: // a new open: new streams
				clear(cur)
			case 5: // a failed mark, which a queued message ignores
				put(k, true, record{kind: kindStatus, id: id, reason: "x"})
			}
		}
		if ix.scanning {
			ix.finishScan()
		}
		checkOutboxIndex(t, ix)
		for k, contact := range contacts {
			var want []string
			for _, id := range order[k] {
				if model[k][id].st == stQueued {
					want = append(want, id)
				}
			}
			var got []string
			if th := ix.contacts[contact]; th != nil {
				js := make([]int, 0, len(th.pending))
				for j := range th.pending {
					js = append(js, int(j))
				}
				slices.Sort(js)
				for _, j := range js {
					got = append(got, th.pending[int32(j)].ID)
				}
				for id, m := range model[k] {
					st, ok := ix.outboxStatusOf(contact, id)
					require.True(t, ok, id)
					require.Equal(t, statusNames[m.st], statusNames[st], id)
				}
			}
			require.Equal(t, want, got, "outbox of %s", contact)
			for a := range 8 {
				id := fmt.Sprint(a)
				th := ix.contacts[contact]
				has := th != nil && th.received.has(ix.key(id))
				require.Equal(t, received[k][id], has, "received %s from %s", id, contact)
			}
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
