package crypto

import (
	"os"
	"path/filepath"
	"testing"
)

func vectorsText(f *testing.F) string {
	v, err := os.ReadFile(filepath.Join("testdata", vectorFile))
	if err != nil {
		f.Fatal(err)
	}
	return string(v)
}

// seedCorpus adds the named vectors and a few strangers.
func seedCorpus(f *testing.F, keys ...string) {
	v := vectorsText(f)
	for _, k := range keys {
		f.Add(mustHex(v, k))
	}
	f.Add(MarshalAlert(Alert{Code: AlertBusy, Reason: "busy"}))
	f.Add(plainHello("alice"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{})
}

var allMessages = []string{"client hello", "server hello", "client identity", "client verify", "server identity", "server verify", "client key"}

// roundTrip fails when msg parses but does not re-encode to the same bytes.
func roundTrip[M interface{ marshal() []byte }](t *testing.T, name string, m M, err error, msg []byte) {
	if err == nil && string(m.marshal()) != string(msg) {
		t.Fatalf("%s does not round-trip", name)
	}
}

// FuzzParseHandshake feeds arbitrary bytes to the two cleartext hello
// parsers and the alert parser: none may panic, and whatever parses must
// re-encode to the same bytes.
func FuzzParseHandshake(f *testing.F) {
	seedCorpus(f, allMessages...)
	f.Fuzz(func(t *testing.T, msg []byte) {
		m1, err := parseClientHello(msg)
		roundTrip(t, "ClientHello", m1, err, msg)
		m2, err := parseServerHello(msg)
		roundTrip(t, "ServerHello", m2, err, msg)
		if a, err := ParseAlert(msg); err == nil && len(a.Reason) > MaxReasonLen {
			t.Fatalf("alert reason too long")
		}
	})
}

// FuzzParseClientIdentity: the ClientIdentity parser never panics and
// round-trips what it accepts.
func FuzzParseClientIdentity(f *testing.F) {
	seedCorpus(f, "client identity")
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := parseClientIdentity(msg)
		roundTrip(t, "ClientIdentity", m, err, msg)
	})
}

// FuzzParseClientVerify: likewise for ClientVerify.
func FuzzParseClientVerify(f *testing.F) {
	seedCorpus(f, "client verify")
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := parseClientVerify(msg)
		roundTrip(t, "ClientVerify", m, err, msg)
	})
}

// FuzzParseServerIdentity: likewise for ServerIdentity.
func FuzzParseServerIdentity(f *testing.F) {
	seedCorpus(f, "server identity")
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := parseServerIdentity(msg)
		roundTrip(t, "ServerIdentity", m, err, msg)
	})
}

// FuzzParseServerVerify: likewise for ServerVerify.
func FuzzParseServerVerify(f *testing.F) {
	seedCorpus(f, "server verify")
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := parseServerVerify(msg)
		roundTrip(t, "ServerVerify", m, err, msg)
	})
}

// FuzzParseClientKey: likewise for ClientKey.
func FuzzParseClientKey(f *testing.F) {
	seedCorpus(f, "client key")
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := parseClientKey(msg)
		roundTrip(t, "ClientKey", m, err, msg)
	})
}

// FuzzResponderReadsHandshakeRecord: whatever record arrives in place of
// ClientIdentity, the responder does not panic and does not advance unless
// it is the genuine record.
func FuzzResponderReadsHandshakeRecord(f *testing.F) {
	v := vectorsText(f)
	genuine := mustHex(v, "client identity record")
	f.Add(genuine)
	f.Add(MarshalAlert(Alert{Code: AlertProtocol, Reason: "x"}))
	key := mustHex(v, "handshake key initiator to responder")
	f.Fuzz(func(t *testing.T, rec []byte) {
		o, err := NewOpener(key)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := o.Open(rec)
		if err == nil && string(rec) != string(genuine) {
			t.Fatalf("a handshake record that was never sealed opened")
		}
		if err == nil {
			_, _ = parseClientIdentity(pt)
		}
	})
}

// FuzzOpenRecord: no input makes the opener panic or accept a forgery.
func FuzzOpenRecord(f *testing.F) {
	v := vectorsText(f)
	f.Add(mustHex(v, "initiator finished record"))
	f.Add([]byte{TypeRecord, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(MarshalAlert(Alert{Code: AlertProtocol, Reason: "x"}))
	i2r := mustHex(v, "key initiator to responder")
	genuine := string(mustHex(v, "initiator finished record"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		o, err := NewOpener(i2r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Open(rec); err == nil && string(rec) != genuine {
			t.Fatalf("a record that was never sealed opened")
		}
	})
}
