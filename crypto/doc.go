// Package crypto holds SecureChat's cryptography: identity keys, safety
// numbers, the handshake of protocol version 4 (an explicit state machine that
// sends identities only encrypted; the handshake is version 2's, and the
// version number says what the chat layer above it has: the Hello record from version 3, the file messages from version 4) and its key schedule, and the record layer
// that seals handshake and chat messages.
//
// It does no I/O: handshake messages and records go in and out as byte
// slices, and randomness comes in as an [io.Reader]. Every primitive is from
// the Go standard library (crypto/rsa, crypto/ecdh, crypto/mlkem,
// crypto/hkdf, crypto/cipher); docs/PROTOCOL.md specifies the bytes.
package crypto
