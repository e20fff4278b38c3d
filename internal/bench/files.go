package bench

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transfer"
)

// GroupFiles: a file sent between two profiles, stored encrypted at both
// ends, against copying it to disk over TLS 1.3 (issue 14).
const GroupFiles = "files"

// filePeer is the TLS 1.3 peer of the files row: a server that reads an
// 8-byte length and that many bytes into a new file in dir, syncs and
// closes it, and answers one byte; what copying a file to another computer
// costs without SecureChat.
type filePeer struct {
	ln     net.Listener
	client *tls.Config
	dir    string
	done   chan struct{}
}

func startFilePeer(dir string) (*filePeer, error) {
	srv, cli, err := tlsConfigs()
	if err != nil {
		return nil, fmt.Errorf("failed to make TLS certificates: %w", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		return nil, err
	}
	p := &filePeer{ln: ln, client: cli, dir: dir, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.serve(c)
		}
	}()
	return p, nil
}

func (p *filePeer) serve(c net.Conn) {
	defer c.Close()
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	f, err := os.CreateTemp(p.dir, "tls-copy-")
	if err != nil {
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := io.CopyN(f, c, int64(binary.BigEndian.Uint64(hdr[:]))); err != nil {
		return
	}
	if f.Sync() != nil {
		return
	}
	_, _ = c.Write([]byte{1})
}

// copy sends the file at path over a new TLS 1.3 connection (handshake
// included) and waits until the server has it on disk.
func (p *filePeer) copy(path string) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	c, err := tls.Dial("tcp", p.ln.Addr().String(), p.client)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Write(binary.BigEndian.AppendUint64(nil, uint64(st.Size()))); err != nil {
		return 0, err
	}
	if _, err := io.Copy(c, f); err != nil {
		return 0, err
	}
	var ok [1]byte
	if _, err := io.ReadFull(c, ok[:]); err != nil {
		return 0, fmt.Errorf("the TLS peer did not store the file: %w", err)
	}
	return time.Since(start), nil
}

func (p *filePeer) close() {
	p.ln.Close()
	<-p.done
}

// fileSide is one profile with its transfer engine.
type fileSide struct {
	v   *history.Vault
	eng *transfer.Engine
}

func openFileSide(v *history.Vault, auto bool) (*fileSide, error) {
	var accept func(transfer.Transfer) bool
	if auto {
		accept = func(transfer.Transfer) bool { return true }
	}
	eng, err := transfer.OpenProfile(v, accept)
	if err != nil {
		return nil, err
	}
	return &fileSide{v: v, eng: eng}, nil
}

func (s *fileSide) cfg() session.Config {
	return session.Config{Identity: s.v.Identity(), Name: s.v.Name(), Store: s.v, Files: s.eng}
}

// sendFile sends path from a to b and returns the time from SendFile to
// the sender's Done (the receiver verified the SHA-256), and the part of
// it spent preparing (the sender's encrypted copy and hash).
func sendFile(a, b *fileSide, to, path string) (total, prepare time.Duration, err error) {
	start := time.Now()
	t, err := a.eng.SendFile(to, path)
	if err != nil {
		return 0, 0, err
	}
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case e, ok := <-a.eng.Events():
			if !ok {
				return 0, 0, errors.New("the engine closed")
			}
			if e.Transfer.ID != t.ID {
				continue
			}
			switch e.Transfer.State {
			case transfer.StateWaiting, transfer.StateTransferring:
				if prepare == 0 {
					prepare = time.Since(start)
				}
			case transfer.StateDone:
				return time.Since(start), prepare, nil
			case transfer.StateFailed:
				return 0, 0, fmt.Errorf("the transfer failed: %w", e.Transfer.Err)
			}
		case <-deadline:
			return 0, 0, errors.New("the transfer did not finish within 5 minutes")
		}
	}
}

func (r *runner) files() error {
	size := r.o.FileSize
	p, err := r.newOutboxPair()
	if err != nil {
		return err
	}
	defer p.close()
	alice, err := openFileSide(p.alice, false)
	if err != nil {
		return err
	}
	defer alice.eng.Close()
	bob, err := openFileSide(p.bob, true)
	if err != nil {
		return err
	}
	defer bob.eng.Close()
	// Bob's engine is read by nobody but must not stall: drain its events.
	go func() {
		for range bob.eng.Events() {
		}
	}()
	pair, err := newPair(bob.cfg(), alice.cfg())
	if err != nil {
		return err
	}
	defer pair.close()
	bobID, aliceID := p.bob.Identity().Public().Fingerprint(), p.alice.Identity().Public().Fingerprint()

	src := filepath.Join(r.dir, "file-source.bin")
	if err := writeRandomFile(src, size); err != nil {
		return err
	}
	defer os.Remove(src)
	peerDir, err := os.MkdirTemp(r.dir, "tls-copy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(peerDir)
	tp, err := startFilePeer(peerDir)
	if err != nil {
		return err
	}
	defer tp.close()

	var prepares samples
	ours := func() (time.Duration, error) {
		total, prep, err := sendFile(alice, bob, bobID, src)
		if err != nil {
			return 0, err
		}
		prepares = append(prepares, prep)
		// Both copies go, so that the disk holds one file at a time.
		if err := alice.eng.DeleteContact(bobID); err != nil {
			return 0, err
		}
		return total, bob.eng.DeleteContact(aliceID)
	}
	res, err := interleave(r.o.FileReps, ours, func() (time.Duration, error) { return tp.copy(src) })
	if err != nil {
		return err
	}
	o, t := res[0].median(), res[1].median()
	mib := float64(size) / (1 << 20)
	oursRate, tlsRate := mib/o.Seconds(), mib/t.Seconds()
	r.rep.add(Row{
		Name: fmt.Sprintf("file %d MiB, history on: SendFile → the receiver verified it", size>>20), Ours: fmt.Sprintf("%.0f MiB/s", oursRate),
		Peers: fmt.Sprintf("TLS 1.3 copy to disk %.0f MiB/s", tlsRate), Ratio: fmtRatio(oursRate / tlsRate),
		Target: "≥ 0.50× TLS", Met: verdict(oursRate >= 0.5*tlsRate),
		Note: fmt.Sprintf("median of %d, %s; ours includes %s preparing (the sender's encrypted copy and its SHA-256), then every chunk stored encrypted and synced at the receiver and the whole file hashed; the TLS peer reads the file, sends it over a new connection (handshake included) and the server writes and syncs it",
			r.o.FileReps, fmtDur(o), fmtDur(prepares.median())),
	})
	return nil
}

// writeRandomFile writes size random bytes to path.
func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
