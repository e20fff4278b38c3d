// Package filexfer moves files of 1 byte to 4 GiB between two SecureChat
// partners inside the session's sealed records, next to the chat: the
// messages and their exact bytes, [SafeName] for the name a receiver
// saves under, and two pure state machines, [Sender] and [Receiver], that
// decide what to send and what to write. It does no I/O: the caller moves
// the records, reads the file, writes and syncs the copy, and hashes it.
//
// The sections below are written to be copied into docs/PROTOCOL.md.
//
// # File messages (record plaintexts)
//
// A file message is a record plaintext of the chat layer (PROTOCOL.md
// section 5), its first byte its type. Integers are unsigned big-endian,
// `||` is concatenation, strings are UTF-8 without a terminator.
//
//	| type   | name     | direction | body                                                                       | length in bytes |
//	|--------|----------|-----------|----------------------------------------------------------------------------|-----------------|
//	| `0x08` | Offer    | S → R     | `id[16] || size:u64 || sha256[32] || type_len:u8 || media_type || name`    | 62 to 1337      |
//	| `0x09` | Accept   | R → S     | `id[16] || offset:u64`                                                     | 25              |
//	| `0x0a` | Decline  | R → S     | `id[16] || code:u8 || reason`                                              | 18 to 273       |
//	| `0x0b` | Chunk    | S → R     | `id[16] || offset:u64 || data`                                             | 26 to 49177     |
//	| `0x0c` | Progress | R → S     | `id[16] || durable:u64`                                                    | 25              |
//	| `0x0d` | Cancel   | S → R     | `id[16] || code:u8 || reason`                                              | 18 to 273       |
//	| `0x0e` | Done     | R → S     | `id[16]`                                                                   | 17              |
//
// (The lengths count the type byte. S is the side that sends the file, R
// the side that receives it.)
//
// Rules; a message that breaks one is malformed, and a malformed message
// ends the connection as any other malformed chat message does:
//
//   - id: 16 random bytes the sender draws for the transfer. Every message
//     names its transfer by it.
//   - size (Offer): 1 to 4294967296 (4 GiB). Empty files are not sent.
//   - sha256 (Offer): the SHA-256 of the whole file.
//   - media_type (Offer): type_len bytes, 1 to 255, of the form
//     `type/subtype`, each part 1 to 127 characters of `a-z 0-9 ! # $ & - ^
//     _ . +` starting with a letter or a digit (RFC 6838 restricted names, in
//     lower case); no parameters. `application/octet-stream` when unknown.
//     It is a hint: a receiver looks at the bytes before it shows a picture.
//   - name (Offer): the rest of the message, 1 to 1024 bytes of valid UTF-8,
//     the sender's name for the file. Anything is allowed; the receiver
//     cleans it (below) before it shows or uses it.
//   - offset (Accept, Chunk), durable (Progress): at most 4294967296. A
//     Chunk's offset is a multiple of 49152 (ChunkSize), and offset plus
//     the data's length is at most 4294967296.
//   - data (Chunk): the rest of the message, 1 to 49152 bytes.
//   - code (Decline, Cancel): why the transfer ended, from the table
//     below. A Decline carries 1, 2, 3, 5, 6 or 7; a Cancel 2, 4 or 7.
//   - reason (Decline, Cancel): the rest of the message, 0 to 255 bytes of
//     valid UTF-8, for logs; a receiver shows its own words for the code,
//     and the reason only escaped.
//   - Any other length (a fixed-size message with trailing bytes, a Chunk
//     without data), any other value, or invalid UTF-8, is malformed.
//
// The codes:
//
//	| code | name           | meaning                                                                  |
//	|------|----------------|--------------------------------------------------------------------------|
//	| 1    | declined       | the receiver's user said no                                              |
//	| 2    | cancelled      | a user stopped it after it was accepted                                  |
//	| 3    | hash mismatch  | the bytes do not have the announced SHA-256; the receiver discarded them |
//	| 4    | source changed | the sender's file got shorter or cannot be read                          |
//	| 5    | storage        | the receiver cannot store it (disk full, a write failed)                 |
//	| 6    | unusable name  | the name is empty once cleaned                                           |
//	| 7    | protocol       | the other side broke a rule of this section                              |
//
// # A transfer
//
//	S: Offer ──────────────▶ R      R's user is asked; the UI shows SafeName(name)
//	S ◀──────────── Accept(0) R     or Decline(1)
//	S: Chunk(0), Chunk(49152), … up to 16 chunks beyond R's durable offset
//	S ◀──── Progress(durable) R     after R wrote and synced them; S sends more
//	…
//	S ◀─────── Progress(size) R     every byte is durable at R
//	S ◀─────────────── Done   R     R hashed the file: it matches; R keeps it
//	                                (or Decline(3): it does not; R deletes it)
//
// Each message type goes one way only, so an id is looked up among the
// transfers of that direction: a partner's id may equal one of ours
// without confusion. A receiver refuses, as a protocol error, an Offer
// whose id it already has with different fields.
//
// Chunks: every chunk is exactly 49152 bytes except the last, which is the
// rest of the file; they come in order, each at the next offset. The
// receiver ends the transfer (Decline with code 7) for a chunk before its
// Accept ("a chunk for a transfer that was never accepted"), past the
// size, after a gap, of another length, or beyond the window. A chunk
// entirely below what it already has is a resend after a reconnect: it is
// dropped, not written again (the data is not compared; the final hash
// covers it). Chunks that arrive after the transfer ended are dropped.
//
// Flow control: a sender never sends a chunk that ends more than 786432
// bytes (16 chunks, Window) past the receiver's durable offset as last
// reported in its Accept or Progress; a receiver ends the transfer for one
// that does. The receiver reports progress only for bytes it has synced
// to disk; so a slow receiver makes the sender wait, never buffer, and the
// credit and the resume point are the same number. A Progress never goes
// back and is a multiple of 49152 or the size. It may go past what the
// sender sent on this connection: after a cut, the receiver may sync bytes
// it had written on the old one; the sender then continues from the
// reported offset. A receiver syncs and reports once half the window
// (393216 bytes) is written and not synced, checking after every chunk,
// resends included, and once the last byte is written; otherwise the
// sender stalls on a full window.
//
// The end: when the Progress reaches the size, the receiver hashes the
// file. If the SHA-256 is the announced one it sends Done and keeps the
// file; otherwise it deletes it and sends Decline with code 3. A sender
// reports the file delivered only on Done.
//
// Cancelling: either side may end a transfer at any time before Done: the
// receiver with a Decline, the sender with a Cancel. The other side stops,
// and a receiver deletes the partial file. A side never answers a Decline,
// a Cancel or a Done. A Done that crosses the sender's Cancel wins: the
// file arrived. A Cancel after Done changes nothing.
//
// Unknown ids: a Chunk whose id matches no incoming transfer is answered
// with a Decline, an Accept or a Progress whose id matches no outgoing
// transfer with a Cancel, both with code 7; a Decline, Cancel or Done with
// an unknown id is dropped.
//
// # Resuming
//
// Both sides keep a transfer durably until it ends: the sender its Offer
// and where the file is; the receiver the Offer, its user's yes, the
// partial file and its durable offset (stored after the data is synced,
// before the Progress is sent). On every new connection with the partner,
// once both Accepts of the chat layer are exchanged, the sender sends the
// Offer of each unfinished transfer again, byte for byte the same. The
// receiver answers, without asking its user again: nothing if the user has
// not decided yet; Accept with its durable offset if it was receiving (the
// sender resends everything from there, and the receiver drops what it
// already has); Accept with the size if it was hashing, then Done or
// Decline; Done if it had verified it; its Decline again if it had ended
// it. A receiver that restarts with the whole file durable hashes it at
// once. A side that ended a transfer sends its Decline or Cancel again on
// the next connection, in case the first was lost, and may then forget
// it; a receiver that forgot a transfer and gets its Offer again asks its
// user again. Messages about a transfer that arrive on a connection older
// than the one that carried its latest Offer are dropped. So an
// interruption (a cut, a crash, a restart of either side) costs at most
// the bytes that were not yet durable: at most a window.
//
// # Next to the chat
//
// A chunk record (49202 bytes as a frame payload: 49177 of plaintext plus
// 25 of record header and tag) is smaller than the largest Text record.
// The writer of a connection sends chat records before file records and
// looks at the chat queue again after each chunk, so a chat message waits
// behind at most one chunk record: about 0.4 s at 1 Mbit/s. With several
// transfers at once, their chunks take turns.
//
// # Design notes
//
// Why these seven messages. Offer and Accept: the receiver's user decides
// before any byte moves, and the Accept carries the resume offset, so
// resuming needs no message of its own. Chunk. Progress: one number is
// both the flow-control credit and the resume point, because it only
// counts synced bytes. Done: the hash is checked after the last byte is
// durable, and the sender must learn the verdict to say "delivered"; the
// last Progress cannot say it. Decline and Cancel have the same body and
// could be one message; they are two so that every type has one
// direction, which makes "a message for a transfer that does not exist"
// well defined. There is no "sender finished" message: the receiver knows
// the size.
//
// Why ChunkSize is 48 KiB. A frame is at most 128 KiB and a record adds 25
// bytes, so a chunk could be almost 128 KiB; but a chat message that must
// wait for a chunk on the wire waits for all of it, 1 s at 1 Mbit/s
// (Tor often does less), and a chunk larger than the 64 KiB Text would be
// the largest thing the connection ever carries. 48 KiB keeps a chunk
// record under both, is 12 pages of 4 KiB for the writes, and costs 49
// bytes of header and tag per chunk (0.1 %); a 4 GiB file is 87382 chunks.
//
// Why the window is 16 chunks (768 KiB). It bounds what a sender holds
// per transfer, what a receiver must take before it reports, and what a
// chat message can wait behind: on a fast link every chunk in flight sits
// in the receiver's socket buffer ahead of it. With 64 chunks a chat
// message waited up to 170 ms behind a transfer on a loaded machine, with
// 16 up to 35 ms (session's TestFiles_ChatDuringATransferArrivesWithin100msOfWithoutIt).
// Throughput is at most a window per round trip plus a sync: 15 MiB/s at
// 50 ms, 1.5 MiB/s at 500 ms (about what a Tor circuit carries). A later
// version may let the Accept announce another window.
//
// Why empty files are refused. A 0-byte transfer has no chunk and nothing
// to resume; it would be an Offer, an Accept and a Done carrying a name,
// which a chat message does better. Sizes are 1 to 4 GiB, both inclusive.
//
// Why a resend is dropped rather than refused. After a reconnect the
// sender starts again at the durable offset, while the receiver may have
// written (but not yet synced) more; refusing would end every transfer
// that was cut between a write and its sync.
//
// # File names
//
// The receiver never uses the offered name as it is: [SafeName] cleans it
// (separators, "." and "..", control and bidirectional characters, leading
// and trailing dots and spaces, Windows device names such as CON or
// LPT1.txt, the characters Windows forbids, more than 255 bytes) and the
// user interface shows the cleaned name. A name that is empty once
// cleaned is declined with code 6.
//
// # Errors
//
// Errors are values to compare with [errors.Is]: [ErrInvalid] (a malformed
// message: the connection ends), [ErrProtocol] and the more precise
// [ErrNotAccepted], [ErrPastEnd], [ErrOutOfOrder], [ErrChunkLength],
// [ErrWindow], [ErrBadOffset], [ErrOfferChanged], [ErrUnexpected],
// [ErrUnknownTransfer] (this transfer ends; nothing else does),
// [ErrHashMismatch], [ErrSourceChanged], [ErrStorage], [ErrDeclined],
// [ErrCancelled], [ErrUnusableName], [ErrEmptyFile], [ErrTooLarge]. When the
// partner ended the transfer the error is a [*PartnerError] that matches
// the sentinel of its code. [ErrState] is a bug of the caller.
//
// # Test vectors
//
// testdata/messages.txt has every message with its fields and its
// encoding, and messages that must be refused; testdata/safename.txt has
// names and what SafeName makes of them. Both are written by
// `go test ./filexfer -run TestGenerate -update`; TestReplayMessageVectors
// and TestReplaySafeNameVectors check them.
package filexfer
