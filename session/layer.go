package session

import "github.com/securechat/securechat/transport"

// RecordLayer seals and opens the chat messages of one connection: the
// secure channel of the handshake, or what a [Greeting] sets up.
type RecordLayer interface {
	// Seal turns a chat message into the record that crosses the network.
	Seal(pt []byte) ([]byte, error)
	// Open turns a record from the network back into a chat message; an
	// error ends the connection.
	Open(rec []byte) ([]byte, error)
}

// Greeting stands in for the secure handshake (see [Config.Greeting]). The
// terminal front end's unencrypted demonstration is the one there is; the
// session core knows nothing of it.
type Greeting interface {
	// Greet runs on a fresh connection, within the handshake deadline: it
	// greets the partner as the initiator or the responder, under our
	// display name, and returns the connection's record layer and the
	// name to show for the partner (made safe to show by the greeting).
	Greet(conn *transport.Conn, initiator bool, name string) (RecordLayer, string, error)
}
