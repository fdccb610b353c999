package dbtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// serialProxy sits between every client and the FerretDB stand-in and lets
// one command at a time through.
//
// FerretDB's SQLite backend applies an update as an unlocked
// read-modify-write, so two concurrent conditional updates of one document
// can both "win" and concurrent $inc lose increments. MongoDB makes each
// single-document write atomic, and the hosted adapter (refresh-token
// rotation, counters, setup, leases) relies on that. Serialising whole
// commands gives the stand-in the same guarantee, so the concurrency tests
// of the contract suite test the adapter, not FerretDB's gap.
//
// Each client connection gets its own backend connection (cursors belong to
// a connection); a process-wide mutex is held from the moment a request is
// handed to FerretDB until its reply has been read back in full.
//
// A test can also cut it (Proxy.Cut): the store is then gone for every
// client, as when a hosted deployment goes down.
type serialProxy struct {
	ln      net.Listener
	backend string

	turn sync.Mutex // one command in FerretDB at a time
	// cut refuses every command and connection; set under turn (so a cut
	// falls between two commands), read without it by accept: a new
	// connection must not wait for the commands in flight.
	cut   atomic.Bool
	mu    sync.Mutex // guards conns
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

const (
	opMsg          = 2013
	flagMoreToCome = 1 << 1
	headerLen      = 16
	maxMessageLen  = 64 << 20 // above MongoDB's 48 MB maxMessageSizeBytes
)

// startSerialProxy listens on network and addr ("unix" and a socket path,
// made 0600, or "tcp") and forwards to the Unix socket backend.
func startSerialProxy(network, addr, backend string) (*serialProxy, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if err := os.Chmod(addr, 0o600); err != nil {
			_ = ln.Close()
			return nil, err
		}
	}
	p := &serialProxy{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *serialProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // listener closed
		}
		if !p.track(c) {
			_ = c.Close()
			return
		}
		if p.isCut() {
			p.untrack(c)
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *serialProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *serialProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *serialProxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	defer client.Close()

	backend, err := net.Dial("unix", p.backend)
	if err != nil {
		return
	}
	if !p.track(backend) {
		_ = backend.Close()
		return
	}
	defer p.untrack(backend)
	defer backend.Close()

	var req, reply []byte
	for {
		req, err = readMessage(client, req[:0])
		if err != nil {
			return
		}
		reply, err = p.roundTrip(backend, req, reply[:0])
		if err != nil {
			return
		}
		if len(reply) > 0 {
			if _, err := client.Write(reply); err != nil {
				return
			}
		}
	}
}

// roundTrip sends one request and reads every reply it provokes, holding the
// turn for the whole exchange. Replies are buffered so a slow client never
// holds the turn while it reads.
func (p *serialProxy) roundTrip(backend net.Conn, req, buf []byte) ([]byte, error) {
	p.turn.Lock()
	defer p.turn.Unlock()
	if p.cut.Load() {
		return nil, errCut
	}
	if _, err := backend.Write(req); err != nil {
		return nil, err
	}
	if moreToCome(req) {
		// A fire-and-forget request (w:0): the client reads no reply.
		// FerretDB v1 ignores the flag and answers anyway; that answer is
		// read and dropped here, or it would be taken for the reply to the
		// connection's next request.
		if _, err := readMessage(backend, nil); err != nil {
			return nil, err
		}
		return buf, nil
	}
	for {
		start := len(buf)
		var err error
		buf, err = readMessage(backend, buf)
		if err != nil {
			return nil, err
		}
		if !moreToCome(buf[start:]) {
			return buf, nil
		}
	}
}

var errCut = errors.New("db: proxy: the store is cut off")

func (p *serialProxy) isCut() bool { return p.cut.Load() }

// setCut takes the store away or brings it back. It waits for the command
// in flight, so the cut falls between two commands: every command the
// store ran is answered, and none is run after the cut. (A real outage
// can also lose the reply to a write that was applied; see
// docs/scaling.md.)
func (p *serialProxy) setCut(cut bool) {
	p.turn.Lock()
	defer p.turn.Unlock()
	p.cut.Store(cut)
}

// readMessage appends one wire-protocol message to buf.
func readMessage(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.LittleEndian.Uint32(hdr[:])))
	if n < headerLen || n > maxMessageLen {
		return nil, fmt.Errorf("db: proxy: bad message length %d", n)
	}
	start := len(buf)
	buf = append(buf, hdr[:]...)
	buf = append(buf, make([]byte, n-4)...)
	if _, err := io.ReadFull(r, buf[start+4:]); err != nil {
		return nil, err
	}
	return buf, nil
}

func moreToCome(msg []byte) bool {
	if len(msg) < headerLen+4 || binary.LittleEndian.Uint32(msg[12:16]) != opMsg {
		return false
	}
	return binary.LittleEndian.Uint32(msg[16:20])&flagMoreToCome != 0
}

// close stops accepting, cuts every connection and waits for the goroutines.
func (p *serialProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}

// Proxy is the serialising proxy on a loopback TCP port, in front of a
// FerretDB that runs as a process of its own (db/dbtest/ferretd): the
// network between labreview instances and a hosted deployment, which a
// test can cut and restore.
type Proxy struct {
	p *serialProxy
}

// StartProxy listens on a free loopback port and forwards to the FerretDB
// listening on the Unix socket backend; it stops when t ends.
func StartProxy(t testing.TB, backend string) *Proxy {
	t.Helper()
	p, err := startSerialProxy("tcp", "127.0.0.1:0", backend)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return &Proxy{p: p}
}

// URI is the MongoDB URI of the store through the proxy.
func (p *Proxy) URI() string { return "mongodb://" + p.p.ln.Addr().String() + "/" }

// Cut takes the store away: from the next command on, every connection
// that sends one is closed, and new connections are closed as they come.
// The command in flight is finished and answered first.
func (p *Proxy) Cut() { p.p.setCut(true) }

// Restore brings the store back.
func (p *Proxy) Restore() { p.p.setCut(false) }
