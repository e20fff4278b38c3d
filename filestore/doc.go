// Package filestore keeps the files and pictures of SecureChat's threads
// encrypted at rest, in a folder of the profile (for example <profile>/files).
//
// Received files are written with [Store.Create] as they arrive, chunk by
// chunk, and survive a disconnect, a crash or a restart: [Store.Resume]
// reopens a partial file where the last durable chunk ends, and
// [Writer.Finish] checks the SHA-256 the sender announced before the file
// becomes readable. Sent files are copied in with [Store.Import], so that the
// thread shows them after a restart. [Store.Open] decrypts a file as a
// stream, [Store.SaveAs] writes a plaintext copy where the user chooses, and
// [Thumbnail] makes a small picture of an image without letting a hostile
// image exhaust memory. Nothing here holds a whole file in memory: every
// operation works one 64 KiB chunk at a time.
//
// The package knows nothing of transfers, peers or the user interface; it
// needs only the folder and a 32-byte master key, which the vault derives
// from its data key. A folder belongs to one [Store] at a time (the profile
// lock sees to that).
//
// # Keys
//
// Each file has a random 32-byte id, made when the file is created. Its two
// keys are derived from the master key and the id with HKDF-SHA256, as the
// history derives its conversation keys from the data key
// (docs/HISTORY-FORMAT.md):
//
//	header key  = HKDF-SHA256(IKM = master key, salt = empty, info = "securechat v1 file header "  || id, 32 bytes)
//	payload key = HKDF-SHA256(IKM = master key, salt = empty, info = "securechat v1 file payload " || id, 32 bytes)
//
// Deriving rather than wrapping a random per-file key under the master key:
// both give each file its own keys, but wrapping adds a key to store and to
// authenticate and buys only the ability to change the master key by
// rewriting headers, which SecureChat never does (the data key of a profile
// never changes; a new passphrase rewraps the data key only). With
// derivation the id is the whole of the per-file key material, it names the
// file on disk, and a file whose header is moved under another name fails to
// open.
//
// # Chunk nonces
//
// age's STREAM uses a counter as the nonce of each chunk, which is safe
// because age writes a file once, from start to end. A resumable file is not
// written once: after a crash the chunk that was being written is written
// again, and nothing guarantees that the sender sends the same bytes the
// second time (the file may have changed on its disk, or the sender may be
// hostile). A counter would then seal two different plaintexts with one key
// and one nonce, which breaks AES-GCM: the torn first attempt may survive in
// freed disk blocks. So every chunk carries its own random 96-bit nonce, and
// its position and the last-chunk flag, which STREAM puts in the nonce, go in
// the associated data instead. One key seals at most 65536 chunks of a 4 GiB
// file plus those written again after crashes; the chance that two of 2^20
// random nonces collide is below 2^-56. Reordering, truncation and extension
// are detected as in STREAM: a chunk opens only at its own position, only the
// last chunk carries the flag, and the size in the sealed header fixes the
// length of the file.
//
// # FORMAT
//
// Version 1. Integers are unsigned and big-endian; || is concatenation.
// Every cipher is AES-256-GCM with a 12-byte nonce and a 16-byte tag.
//
// The folder holds one file per stored file, named by its id in lower-case
// hex (64 digits) and a suffix:
//
//	<id>.sealed  a complete file: readable, listed
//	<id>.part    a file being received: its header is whole, its chunks may stop anywhere
//	<id>.tmp     a header being created, or a file being imported; removed by [Open]
//
// A file, complete or partial, is a header followed by chunks.
//
// Header:
//
//	offset  size  field
//	0       7     magic 53 43 46 49 4c 45 00 ("SCFILE\x00")
//	7       1     version, 01
//	8       32    id, equal to the id in the file's name
//	40      4     L, the length of the sealed header: 272 to 1552, and L-16 a multiple of 256
//	44      12    header nonce, random
//	56      L     AES-256-GCM(header key, header nonce, header plaintext, associated data = bytes 0 to 55)
//
// Header plaintext (L-16 bytes):
//
//	u64            size: the length of the file's plaintext, 0 to 4 GiB (2^32)
//	32 bytes       the SHA-256 of the plaintext, as announced by the sender
//	u8 n, n bytes  media type, UTF-8 ("image/png"; may be empty)
//	u16 n, n bytes name, UTF-8, at most 1024 bytes
//	zero bytes     to the next multiple of 256 bytes (none if already there)
//
// The padding hides the length of the name within 256 bytes. A reader
// rejects any other length, a nonzero padding byte or a size above 4 GiB.
//
// Chunks: the plaintext is cut into chunks of 65536 bytes; the last chunk
// holds the rest, from 1 to 65536 bytes. An empty file has one empty chunk.
// So a file of size S has N = max(1, ceil(S / 65536)) chunks, numbered from
// 0; chunk N-1 is the last. Chunk i starts at byte 56 + L + i*65564 of the
// file and is
//
//	12 bytes   chunk nonce, random for every chunk written
//	n+16 bytes AES-256-GCM(payload key, chunk nonce, the n bytes of plaintext of chunk i,
//	                       associated data = u64 i || u8 last)
//
// where last is 01 for chunk N-1 and 00 for the others. A complete file is
// exactly 56 + L + S + 28*N bytes long; any other length is damage.
//
// A partial file (<id>.part) holds the header and chunks 0 to k-1 whole for
// some k, then possibly a torn chunk. Resuming keeps the longest run of
// chunks from 0 that open, cuts the file after it, and continues with
// chunk k. When all N chunks are there and the SHA-256 of the plaintext
// equals the announced one, the file is renamed to <id>.sealed.
//
// Durability: a header is written to <id>.tmp, fsynced, renamed to
// <id>.part and the folder fsynced, so a .part file always has a whole
// header. [Writer.Sync] fsyncs the chunks written so far. [Writer.Finish]
// fsyncs the file, renames it and fsyncs the folder; [Store.Import] writes
// <id>.tmp whole (its header last, at offset 0, once the size and hash are
// known) and does the same. A crash leaves at worst a .tmp file, which the
// next [Open] removes, or a .part file with a torn chunk, which
// [Store.Resume] cuts back.
//
// Test vectors in testdata/ are generated by
// `go test ./filestore -run TestVectors -update` and replayed by
// TestVectors.
package filestore
