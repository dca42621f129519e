package connlimit

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// TestSheddingClosesTheSlowest fills a cap of three with a connection
// whose request has arrived, an idle one and one trickling its request,
// and checks which one a newcomer displaces as time passes: none within
// ShedGrace (the newcomer is refused), then the trickling one, never the
// other two; and that among receiving connections the one with the
// fewest bytes per second goes first.
func TestSheddingClosesTheSlowest(t *testing.T) {
	now := time.Unix(1000, 0)
	ql := &queueListener{q: make(chan net.Conn, 16)}
	var refused, shed atomic.Int64
	ln := NewShedding(ql, 3, func(netip.Addr) { refused.Add(1) }, func(netip.Addr) { shed.Add(1) }, func() time.Time { return now }).(*Shedding)
	var peers []net.Conn
	t.Cleanup(func() {
		for _, p := range peers {
			p.Close()
		}
	})
	offer := func() *ShedConn {
		t.Helper()
		server, client := net.Pipe()
		peers = append(peers, client)
		ql.q <- server
		c, err := ln.Accept()
		if errors.Is(err, errDrained) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return c.(*ShedConn)
	}
	// send has the client of conn c write n bytes, which c reads.
	send := func(c *ShedConn, client net.Conn, n int) {
		t.Helper()
		go func() { _, _ = client.Write(make([]byte, n)) }()
		if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	// closed reports whether c was closed: a write on a closed pipe fails
	// at once, on an open one it waits for a reader until its deadline.
	closed := func(c *ShedConn) bool {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := c.Conn.Write([]byte{0})
		return errors.Is(err, io.ErrClosedPipe)
	}

	served, idle, slow := offer(), offer(), offer()
	served.Arrived()
	idle.Idle()
	send(slow, peers[2], 3)

	if c := offer(); c != nil || refused.Load() != 1 {
		t.Fatalf("a newcomer within ShedGrace of the slow request: accepted %v, refused %d; want refused", c != nil, refused.Load())
	}
	now = now.Add(ShedGrace)
	fresh := offer()
	if fresh == nil || shed.Load() != 1 {
		t.Fatalf("a newcomer past ShedGrace: accepted %v, shed %d; want accepted, one shed", fresh != nil, shed.Load())
	}
	if !closed(slow) || closed(served) || closed(idle) {
		t.Errorf("closed: slow %v, served %v, idle %v; want only the slow one", closed(slow), closed(served), closed(idle))
	}
	if got := ln.Open(); got != 3 {
		t.Errorf("Open() = %d, want 3", got)
	}

	// The fresh connection sends 1,000 bytes; the idle one begins a
	// request and sends 10. Past ShedGrace, the idle one's is slower.
	idle.Receiving()
	send(fresh, peers[len(peers)-1], 1000)
	send(idle, peers[1], 10)
	now = now.Add(2 * ShedGrace)
	if c := offer(); c == nil {
		t.Fatal("a newcomer with two receiving connections open: refused")
	}
	if !closed(idle) || closed(fresh) || closed(served) {
		t.Errorf("closed: 10 bytes %v, 1,000 bytes %v, served %v; want only the 10 bytes one", closed(idle), closed(fresh), closed(served))
	}
	served.Close()
	served.Close() // a second Close gives back nothing more
	if got := ln.Open(); got != 2 {
		t.Errorf("after one closed: Open() = %d, want 2", got)
	}
}

func TestZeroSheddingWrapsNothing(t *testing.T) {
	ql := &queueListener{}
	if ln := NewShedding(ql, 0, nil, nil, nil); ln != ql {
		t.Errorf("NewShedding(ln, 0) = %T, want ln itself", ln)
	}
}
