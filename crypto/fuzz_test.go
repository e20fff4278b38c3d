package crypto

import (
	"os"
	"path/filepath"
	"testing"
)

func seedHandshakeCorpus(f *testing.F) {
	v, err := os.ReadFile(filepath.Join("testdata", vectorFile))
	if err != nil {
		f.Fatal(err)
	}
	for _, k := range []string{"client hello", "server hello", "client auth", "server auth"} {
		f.Add(mustHex(string(v), k))
	}
	f.Add(MarshalAlert(Alert{Code: AlertBusy, Reason: "busy"}))
	f.Add(MarshalPlainHello())
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{})
}

// FuzzParseHandshake feeds arbitrary bytes to every handshake message parser:
// none may panic, and whatever parses must re-encode to the same bytes.
func FuzzParseHandshake(f *testing.F) {
	seedHandshakeCorpus(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		if m, err := parseClientHello(msg); err == nil && string(m.marshal()) != string(msg) {
			t.Fatalf("ClientHello does not round-trip")
		}
		if m, err := parseServerHello(msg); err == nil && string(m.marshal()) != string(msg) {
			t.Fatalf("ServerHello does not round-trip")
		}
		if m, err := parseClientAuth(msg); err == nil && string(m.marshal()) != string(msg) {
			t.Fatalf("ClientAuth does not round-trip")
		}
		if m, err := parseServerAuth(msg); err == nil && string(m.marshal()) != string(msg) {
			t.Fatalf("ServerAuth does not round-trip")
		}
		_, _ = ParseAlert(msg)
	})
}

// FuzzOpenRecord: no input makes the opener panic or accept a forgery.
func FuzzOpenRecord(f *testing.F) {
	v, err := os.ReadFile(filepath.Join("testdata", vectorFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustHex(string(v), "initiator finished record"))
	f.Add([]byte{TypeRecord, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(MarshalAlert(Alert{Code: AlertProtocol, Reason: "x"}))
	i2r := mustHex(string(v), "key initiator to responder")
	genuine := string(mustHex(string(v), "initiator finished record"))
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
