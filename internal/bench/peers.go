package bench

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"time"
)

// The peers are what SecureChat is compared with: TLS 1.3 from crypto/tls
// with mutual authentication and RSA-3072 certificates, and plain TCP. Both
// run the same three services over loopback:
//
//   - handshake: the server completes the handshake (for TLS, verifying the
//     client's certificate) and writes one byte; the client's measurement ends
//     when it reads that byte, so both sides are authenticated, like
//     SecureChat's "connected" event. Raw TCP ends at connect.
//   - echo: every byte comes back.
//   - sink: an 8-byte count n, then n bytes that are read and dropped, then one
//     byte back.

// peerKind names a peer in the table.
type peerKind int

const (
	peerTLS peerKind = iota
	peerTCP
)

func (k peerKind) String() string {
	if k == peerTLS {
		return "TLS 1.3"
	}
	return "raw TCP"
}

// peerServer is a loopback server of one kind.
type peerServer struct {
	kind   peerKind
	ln     net.Listener
	client *tls.Config // nil for TCP
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

// service is what a connection asks for with its first byte.
const (
	svcHandshake byte = 'h'
	svcEcho      byte = 'e'
	svcSink      byte = 's'
)

// tlsConfigs makes a CA and a server and a client certificate, all RSA-3072,
// and returns the two sides' configurations: TLS 1.3 only, each side
// requiring and verifying the other's certificate, no session resumption.
func tlsConfigs() (server, client *tls.Config, err error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scbench CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
		key, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			return tls.Certificate{}, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			DNSNames:     []string{name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return tls.Certificate{}, err
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
	}
	srvCert, err := leaf(2, "server.scbench", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, nil, err
	}
	cliCert, err := leaf(3, "client.scbench", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, nil, err
	}
	server = &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{srvCert},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              pool,
		SessionTicketsDisabled: true,
	}
	client = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cliCert},
		RootCAs:      pool,
		ServerName:   "server.scbench",
	}
	return server, client, nil
}

// startPeer listens on loopback; srv is nil for raw TCP.
func startPeer(kind peerKind, srv, client *tls.Config) (*peerServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to listen: %w", err)
	}
	p := &peerServer{kind: kind, ln: ln, client: client, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if srv != nil {
				c = tls.Server(c, srv)
			}
			p.mu.Lock()
			p.conns[c] = true
			p.mu.Unlock()
			p.wg.Add(1)
			go p.serve(c)
		}
	}()
	return p, nil
}

func (p *peerServer) serve(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		c.Close()
	}()
	var svc [1]byte
	if p.kind == peerTLS {
		// The client speaks first in the handshake service only after
		// reading our byte, so complete the handshake before reading.
		if err := c.(*tls.Conn).Handshake(); err != nil {
			return
		}
	}
	if _, err := io.ReadFull(c, svc[:]); err != nil {
		return
	}
	switch svc[0] {
	case svcHandshake:
		_, _ = c.Write([]byte{1})
		_, _ = io.Copy(io.Discard, c)
	case svcEcho:
		_, _ = io.Copy(c, c)
	case svcSink:
		var hdr [8]byte
		for {
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				return
			}
			n := int64(binary.BigEndian.Uint64(hdr[:]))
			if _, err := io.CopyN(io.Discard, c, n); err != nil {
				return
			}
			if _, err := c.Write([]byte{1}); err != nil {
				return
			}
		}
	}
}

func (p *peerServer) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// dial opens a connection for service svc. For TLS the handshake is part of
// it: tls.Conn.Handshake returns on the client once its Finished is sent.
func (p *peerServer) dial(svc byte) (net.Conn, error) {
	c, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		return nil, err
	}
	if p.kind == peerTLS {
		tc := tls.Client(c, p.client)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	if _, err := c.Write([]byte{svc}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// handshake measures one connection set-up. For TLS it ends once the
// server has verified our certificate and said so; for raw TCP, at connect.
func (p *peerServer) handshake() (time.Duration, error) {
	start := time.Now()
	if p.kind == peerTCP {
		c, err := net.Dial("tcp", p.ln.Addr().String())
		d := time.Since(start)
		if err != nil {
			return 0, err
		}
		c.Close()
		return d, nil
	}
	c, err := p.dial(svcHandshake)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, fmt.Errorf("handshake not confirmed: %w", err)
	}
	return time.Since(start), nil
}

// echoer measures round trips on one open connection.
type echoer struct {
	c   net.Conn
	buf []byte
}

func (p *peerServer) echoer() (*echoer, error) {
	c, err := p.dial(svcEcho)
	if err != nil {
		return nil, err
	}
	return &echoer{c: c}, nil
}

// roundTrip writes msg and waits until all of it came back.
func (e *echoer) roundTrip(msg []byte) (time.Duration, error) {
	if cap(e.buf) < len(msg) {
		e.buf = make([]byte, len(msg))
	}
	start := time.Now()
	if _, err := e.c.Write(msg); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(e.c, e.buf[:len(msg)]); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// sink measures one-way throughput on one open connection.
type sink struct{ c net.Conn }

func (p *peerServer) sink() (*sink, error) {
	c, err := p.dial(svcSink)
	if err != nil {
		return nil, err
	}
	return &sink{c: c}, nil
}

// send writes n messages of msg, one write each (one TLS record each, as
// SecureChat writes one frame per message), and waits for the receiver to
// confirm it read them all.
func (s *sink) send(msg []byte, n int) (time.Duration, error) {
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(n*len(msg)))
	start := time.Now()
	if _, err := s.c.Write(hdr[:]); err != nil {
		return 0, err
	}
	for range n {
		if _, err := s.c.Write(msg); err != nil {
			return 0, err
		}
	}
	var b [1]byte
	if _, err := io.ReadFull(s.c, b[:]); err != nil {
		return 0, errors.New("the receiver did not confirm")
	}
	return time.Since(start), nil
}
