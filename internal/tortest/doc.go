// Package tortest holds the end-to-end test of Tor mode (build tag tor,
// `make test-tor`): two SecureChat processes (the terminal front end, this
// test binary run again) chat through onion services of a private Tor
// network on 127.0.0.1 (internal/tornet), while a capture on the loopback
// interface checks that neither ever connects to the other directly.
package tortest
