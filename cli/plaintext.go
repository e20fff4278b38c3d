package cli

import (
	"fmt"
	"unicode/utf8"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/names"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transport"
)

// plaintextGreeting is the paper's unencrypted demonstration (--plaintext):
// a hello with the display name in the clear, then every message in the
// clear behind one type byte. It shows what a network capture sees, and
// cannot talk to a secure peer (docs/PROTOCOL.md, section 7). Only this
// front end wires it into a session, as [session.Config.Greeting].
type plaintextGreeting struct{}

// typePlainRecord marks a record of the demonstration.
const typePlainRecord byte = 0x51

// errPlainRecord is a record that is not the demonstration's.
var errPlainRecord = fmt.Errorf("%w: not a plaintext-mode record", session.ErrProtocol)

// plainLayer is the demonstration's record layer: no encryption at all.
type plainLayer struct{}

func (plainLayer) Seal(pt []byte) ([]byte, error) { return append([]byte{typePlainRecord}, pt...), nil }

func (plainLayer) Open(rec []byte) ([]byte, error) {
	if len(rec) == 0 || rec[0] != typePlainRecord {
		return nil, errPlainRecord
	}
	return rec[1:], nil
}

// Greet exchanges the demonstration's hellos: the initiator speaks first.
// A secure peer's ClientHello is refused with Alert 7; a secure peer
// answers our hello with Alert 4.
func (plaintextGreeting) Greet(conn *transport.Conn, initiator bool, name string) (session.RecordLayer, string, error) {
	if initiator {
		if err := conn.WriteFrame(marshalPlainHello(name)); err != nil {
			return nil, "", err
		}
	}
	m, err := conn.ReadFrame()
	if err != nil {
		return nil, "", fmt.Errorf("plaintext greeting: %w", err)
	}
	if !scrypto.IsPlainHello(m) {
		if len(m) > 0 && m[0] == scrypto.TypeAlert {
			if a, perr := scrypto.ParseAlert(m); perr == nil {
				return nil, "", a
			}
		}
		if len(m) > 0 && m[0] == scrypto.TypeClientHello {
			refuse := scrypto.Alert{Code: scrypto.AlertSecureRefused, Reason: "this peer runs the unencrypted --plaintext demonstration and refuses a secure chat"}
			_ = conn.WriteFrame(scrypto.MarshalAlert(refuse))
			return nil, "", fmt.Errorf("%w: the partner runs secure SecureChat; this side runs the unencrypted --plaintext demonstration, and the two refuse each other", scrypto.ErrNotSecureChat)
		}
		return nil, "", scrypto.ErrNotSecureChat
	}
	peer, err := parsePlainHello(m)
	if err != nil {
		return nil, "", err
	}
	if !initiator {
		if err := conn.WriteFrame(marshalPlainHello(name)); err != nil {
			return nil, "", err
		}
	}
	return plainLayer{}, names.Escape(peer) + " (unencrypted)", nil
}

// marshalPlainHello encodes the demonstration's hello: its type byte, the
// magic, then the sender's display name in the clear (one length byte), as
// the paper's unencrypted program showed it to anyone on the network.
func marshalPlainHello(name string) []byte {
	for len(name) > scrypto.MaxNameLen {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	b := append([]byte{scrypto.TypePlainHello}, scrypto.Magic...)
	b = append(b, byte(len(name)))
	return append(b, name...)
}

// parsePlainHello returns the display name a demonstration hello carries.
func parsePlainHello(msg []byte) (string, error) {
	if !scrypto.IsPlainHello(msg) {
		return "", scrypto.ErrNotSecureChat
	}
	rest := msg[1+len(scrypto.Magic):]
	if len(rest) == 0 || int(rest[0]) != len(rest)-1 || int(rest[0]) > scrypto.MaxNameLen {
		return "", fmt.Errorf("%w: malformed PlainHello", scrypto.ErrMalformed)
	}
	name := rest[1:]
	if !utf8.Valid(name) {
		return "", fmt.Errorf("%w: PlainHello name is not UTF-8", scrypto.ErrMalformed)
	}
	return string(name), nil
}
