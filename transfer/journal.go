package transfer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/securechat/securechat/filestore"
	"github.com/securechat/securechat/filexfer"
)

// The journal: one sealed record per transfer in <Dir>/transfers, written
// atomically. docs/FILES-FORMAT.md is its specification.

const (
	journalDir  = "transfers"
	recordExt   = ".rec"
	tempExt     = ".tmp"
	journalInfo = "securechat v1 transfers"

	recordMagic   = "SCXFER\x00"
	recordVersion = 1
	recordHeader  = len(recordMagic) + 1 + nonceLen // magic, version, nonce
	nonceLen      = 12
	tagLen        = 16

	// maxContactLen bounds a contact's fingerprint in a record.
	maxContactLen = 1024
	// maxDetailLen bounds the stored words of a failure.
	maxDetailLen = 1024
	// maxRecordLen bounds a record file: the fixed fields and the longest
	// strings, sealed. A larger file is damaged, and is not read whole.
	maxRecordLen = recordHeader + recordFixed + 2 + maxContactLen + 1 + filexfer.MaxMediaTypeBytes + 2 + filexfer.MaxNameBytes + 2 + maxDetailLen + tagLen
)

// Record flags.
const (
	flagOutgoing = 1 << iota // we send it
	flagFarewell             // our Decline or Cancel is to be sent again on the next connection
	flagPartner              // the partner ended it (Failed): code and detail are its
	flagPicture              // the bytes are a PNG, JPEG or GIF
	flagStored               // the store holds (or held) the file under storeID
	flagsKnown   = flagOutgoing | flagFarewell | flagPartner | flagPicture | flagStored
)

// recordFixed is the length of a record's plaintext up to its strings.
const recordFixed = 1 + 1 + 1 + 8 + filexfer.IDSize + 8 + 32 + filestore.IDSize + 8

// errJournal is wrapped by the error of a record that cannot be read.
var errJournal = errors.New("transfer: a damaged transfer record")

// record is what the journal keeps of one transfer.
type record struct {
	Outgoing bool
	Farewell bool
	Partner  bool
	Picture  bool
	Stored   bool
	State    State
	Code     filexfer.Code // StateFailed: why
	Time     time.Time
	Offer    filexfer.Offer
	StoreID  filestore.ID
	// Acked, outgoing: the bytes the receiver last reported durable, as
	// of the last link's end or state change; shown after a restart
	// until the receiver reports again. Zero for incoming.
	Acked   uint64
	Contact string
	Detail  string // StateFailed: our words for it, or the partner's reason
}

// journalKey derives the journal's key from the store's master key.
func journalKey(master []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, master, nil, journalInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("transfer: failed to derive the journal key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	return cipher.NewGCM(block)
}

// encode returns the record's plaintext.
func (r *record) encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, recordFixed+len(r.Contact)+len(r.Offer.MediaType)+len(r.Offer.Name)+len(r.Detail)+7)
	var flags byte
	for _, f := range []struct {
		on  bool
		bit byte
	}{{r.Outgoing, flagOutgoing}, {r.Farewell, flagFarewell}, {r.Partner, flagPartner}, {r.Picture, flagPicture}, {r.Stored, flagStored}} {
		if f.on {
			flags |= f.bit
		}
	}
	b = append(b, flags, byte(r.State), byte(r.Code))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = append(b, r.Offer.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Offer.Size)
	b = append(b, r.Offer.SHA256[:]...)
	b = append(b, r.StoreID[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Acked)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Contact)))
	b = append(b, r.Contact...)
	b = append(b, byte(len(r.Offer.MediaType)))
	b = append(b, r.Offer.MediaType...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Offer.Name)))
	b = append(b, r.Offer.Name...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Detail)))
	b = append(b, r.Detail...)
	return b, nil
}

// check reports why r cannot be a record: the rules of FILES-FORMAT.md.
func (r *record) check() error {
	switch {
	case r.State < StateWaiting || r.State > StateFailed:
		return fmt.Errorf("state %d", r.State)
	case (r.State == StateFailed) != (r.Code != 0):
		return fmt.Errorf("code %d in state %s", r.Code, r.State)
	case r.Code != 0 && r.Code.Err() == nil:
		return fmt.Errorf("code %d", r.Code)
	case r.Partner && r.State != StateFailed, r.Farewell && (r.State != StateFailed || r.Partner):
		return errors.New("an ending flag on a transfer that did not end that way")
	case r.Outgoing && r.State == StateVerifying:
		return errors.New("an outgoing transfer verifying")
	case r.Outgoing && !r.Stored, !r.Outgoing && !r.Stored && (r.State == StateTransferring || r.State == StateVerifying || r.State == StateDone):
		return errors.New("no stored file")
	case r.Acked > r.Offer.Size, !r.Outgoing && r.Acked != 0:
		return fmt.Errorf("acked %d of %d bytes (outgoing %v)", r.Acked, r.Offer.Size, r.Outgoing)
	case r.Contact == "" || len(r.Contact) > maxContactLen || !utf8.ValidString(r.Contact):
		return errors.New("the contact is empty, too long or not UTF-8")
	case len(r.Detail) > maxDetailLen || !utf8.ValidString(r.Detail):
		return errors.New("the detail is too long or not UTF-8")
	}
	// The offer's own rules (size, media type, name): a Sender takes only
	// a valid one.
	if _, err := filexfer.NewSender(r.Offer); err != nil {
		return err
	}
	if !r.Outgoing {
		if _, err := filexfer.SafeName(r.Offer.Name); err != nil {
			return err
		}
	}
	return nil
}

// decodeRecord parses a record's plaintext.
func decodeRecord(b []byte) (*record, error) {
	if len(b) < recordFixed {
		return nil, fmt.Errorf("%w: %d bytes", errJournal, len(b))
	}
	r := &record{}
	flags := b[0]
	if flags&^flagsKnown != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", errJournal, flags)
	}
	r.Outgoing, r.Farewell, r.Partner = flags&flagOutgoing != 0, flags&flagFarewell != 0, flags&flagPartner != 0
	r.Picture, r.Stored = flags&flagPicture != 0, flags&flagStored != 0
	r.State, r.Code = State(b[1]), filexfer.Code(b[2])
	r.Time = time.Unix(0, int64(binary.BigEndian.Uint64(b[3:11])))
	b = b[11:]
	copy(r.Offer.ID[:], b)
	b = b[filexfer.IDSize:]
	r.Offer.Size = binary.BigEndian.Uint64(b)
	b = b[8:]
	copy(r.Offer.SHA256[:], b)
	b = b[32:]
	copy(r.StoreID[:], b)
	b = b[filestore.IDSize:]
	r.Acked = binary.BigEndian.Uint64(b)
	b = b[8:]
	var ok bool
	if r.Contact, b, ok = cutString(b, 2); !ok {
		return nil, fmt.Errorf("%w: the contact is cut", errJournal)
	}
	if r.Offer.MediaType, b, ok = cutString(b, 1); !ok {
		return nil, fmt.Errorf("%w: the media type is cut", errJournal)
	}
	if r.Offer.Name, b, ok = cutString(b, 2); !ok {
		return nil, fmt.Errorf("%w: the name is cut", errJournal)
	}
	if r.Detail, b, ok = cutString(b, 2); !ok {
		return nil, fmt.Errorf("%w: the detail is cut", errJournal)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the record", errJournal, len(b))
	}
	if !r.Stored && r.StoreID != (filestore.ID{}) {
		return nil, fmt.Errorf("%w: a store id without its flag", errJournal)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", errJournal, err)
	}
	return r, nil
}

// cutString reads a string of n length bytes (1 or 2) from b.
func cutString(b []byte, n int) (string, []byte, bool) {
	if len(b) < n {
		return "", nil, false
	}
	l := int(b[0])
	if n == 2 {
		l = int(binary.BigEndian.Uint16(b))
	}
	b = b[n:]
	if len(b) < l {
		return "", nil, false
	}
	return string(b[:l]), b[l:], true
}

// sealRecord returns the bytes of a record file.
func sealRecord(aead cipher.AEAD, nonce []byte, r *record) ([]byte, error) {
	plain, err := r.encode()
	if err != nil {
		return nil, fmt.Errorf("transfer: a record that cannot be kept: %w", err)
	}
	return sealPlain(aead, nonce, plain), nil
}

// sealPlain seals a record's plaintext into the bytes of its file.
func sealPlain(aead cipher.AEAD, nonce, plain []byte) []byte {
	out := make([]byte, 0, recordHeader+len(plain)+tagLen)
	out = append(out, recordMagic...)
	out = append(out, recordVersion)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, out[:recordHeader])
}

// openRecord parses the bytes of a record file.
func openRecord(aead cipher.AEAD, b []byte) (*record, error) {
	switch {
	case len(b) < recordHeader+tagLen:
		return nil, fmt.Errorf("%w: only %d bytes", errJournal, len(b))
	case len(b) > maxRecordLen:
		return nil, fmt.Errorf("%w: %d bytes", errJournal, len(b))
	case string(b[:len(recordMagic)]) != recordMagic:
		return nil, fmt.Errorf("%w: not a transfer record", errJournal)
	case b[len(recordMagic)] != recordVersion:
		return nil, fmt.Errorf("%w: version %d", errJournal, b[len(recordMagic)])
	}
	plain, err := aead.Open(nil, b[len(recordMagic)+1:recordHeader], b[recordHeader:], b[:recordHeader])
	if err != nil {
		return nil, fmt.Errorf("%w: it does not decrypt (changed, or another profile's)", errJournal)
	}
	return decodeRecord(plain)
}

// journal is the folder of records.
type journal struct {
	dir  string
	aead cipher.AEAD
	sync func(*os.File) error // test hook
}

func openJournal(dir string, master []byte) (*journal, error) {
	aead, err := journalKey(master)
	if err != nil {
		return nil, err
	}
	j := &journal{dir: filepath.Join(dir, journalDir), aead: aead, sync: (*os.File).Sync}
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return nil, fmt.Errorf("transfer: failed to create the journal folder: %w", err)
	}
	return j, nil
}

// newName returns a fresh record name: random, so that the folder says
// nothing of the transfers but their number.
func newName() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// loaded is one record file read by load.
type loaded struct {
	name string
	rec  *record
	err  error
}

// load reads every record, removing what an interrupted write left. A
// record that cannot be read is returned with its error; it stays on disk.
func (j *journal) load() ([]loaded, error) {
	des, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("transfer: failed to list the journal: %w", err)
	}
	var out []loaded
	for _, de := range des {
		n := de.Name()
		if strings.HasSuffix(n, tempExt) {
			os.Remove(filepath.Join(j.dir, n))
			continue
		}
		base, ok := strings.CutSuffix(n, recordExt)
		if !ok {
			continue
		}
		l := loaded{name: base}
		if !de.Type().IsRegular() {
			l.err = fmt.Errorf("%w: %s is not a file", errJournal, n)
		} else {
			l.rec, l.err = j.read(n)
		}
		if l.err != nil {
			l.err = fmt.Errorf("transfer record %s: %w", base, l.err)
		}
		out = append(out, l)
	}
	return out, nil
}

func (j *journal) read(n string) (*record, error) {
	f, err := os.Open(filepath.Join(j.dir, n))
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(maxRecordLen)+1))
	if err != nil {
		return nil, fmt.Errorf("transfer: failed to read: %w", err)
	}
	return openRecord(j.aead, b)
}

// write replaces the record name with r: a temporary file, fsynced,
// renamed over the record, and the folder fsynced.
func (j *journal) write(name string, r *record) error {
	nonce := make([]byte, nonceLen)
	_, _ = rand.Read(nonce)
	b, err := sealRecord(j.aead, nonce, r)
	if err != nil {
		return err
	}
	tmp := filepath.Join(j.dir, name+tempExt)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("transfer: failed to write the transfer record: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = j.sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(j.dir, name+recordExt))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("transfer: failed to write the transfer record: %w", err)
	}
	return j.syncDir()
}

// remove deletes the record name.
func (j *journal) remove(name string) error {
	err := os.Remove(filepath.Join(j.dir, name+recordExt))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("transfer: failed to delete a transfer record: %w", err)
	}
	return j.syncDir()
}

func (j *journal) syncDir() error {
	if err := syncDir(j.dir); err != nil {
		return fmt.Errorf("transfer: failed to sync the journal folder: %w", err)
	}
	return nil
}
