package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestPerAddressCap opens connections from one address past the cap and
// checks that the extra one is closed at once, counted, and that closing
// a held connection lets a new one in.
func TestPerAddressCap(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int64
	ln := New(inner, 2, func(netip.Addr) { refused.Add(1) })
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() { // owned by the test: ends when ln is closed
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	next := func() net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(15 * time.Second):
			t.Fatal("no connection accepted within 15s")
		}
		return nil
	}
	c1, _ := dial(), dial()
	s1, s2 := next(), next()
	defer s2.Close()

	extra := dial()
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the third connection read %d bytes; want it closed", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the third connection was left open")
	}
	if got := refused.Load(); got != 1 {
		t.Errorf("refused = %d, want 1", got)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	if got := ln.(*Listener).Open(lo); got != 2 {
		t.Errorf("Open(127.0.0.1) = %d, want 2", got)
	}

	c1.Close()
	s1.Close()
	s1.Close() // a second Close gives back nothing more
	if got := ln.(*Listener).Open(lo); got != 1 {
		t.Errorf("after one closed: Open = %d, want 1", got)
	}
	dial()
	next().Close()
}

func TestZeroCapWrapsNothing(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	if ln := New(inner, 0, nil); ln != inner {
		t.Errorf("New(ln, 0) = %T, want ln itself", ln)
	}
}

func TestAddrOf(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 5}, "10.1.2.3"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 5}, "10.1.2.3"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 5}, "2001:db8::1"},
		{&net.UnixAddr{Name: "/tmp/s", Net: "unix"}, "invalid IP"},
	}
	for _, tt := range tests {
		if got := addrOf(tt.addr).String(); got != tt.want {
			t.Errorf("addrOf(%v) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

// queueListener accepts the connections queued in it, then fails with
// errDrained until more are queued.
type queueListener struct {
	net.Listener // nil: only Accept is used
	q            chan net.Conn
}

var errDrained = errors.New("no connection queued")

func (l *queueListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.q:
		return c, nil
	default:
		return nil, errDrained
	}
}

// blockingListener hands out the connections sent on q, and waits for
// more when there are none (a listening socket with an empty backlog).
type blockingListener struct {
	q      chan net.Conn
	closed chan struct{}
}

func newBlockingListener() *blockingListener {
	return &blockingListener{q: make(chan net.Conn, 16), closed: make(chan struct{})}
}

func (l *blockingListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.q:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *blockingListener) Close() error   { close(l.closed); return nil }
func (l *blockingListener) Addr() net.Addr { return &net.TCPAddr{} }

// TestTotalWaitsAtTheCap: at the cap, Accept takes nothing more from the
// backlog until a connection closes; each wait is counted once, a second
// Close gives back nothing more, and closing the listener ends a waiting
// Accept.
func TestTotalWaitsAtTheCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bl := newBlockingListener()
		var waits atomic.Int64
		ln := NewTotal(bl, 2, func() { waits.Add(1) }).(*Total)
		var peers []net.Conn
		defer func() {
			for _, p := range peers {
				p.Close()
			}
		}()
		offer := func() {
			server, client := net.Pipe()
			peers = append(peers, client)
			bl.q <- server
		}
		type result struct {
			c   net.Conn
			err error
		}
		accept := func() chan result {
			ch := make(chan result, 1)
			go func() {
				c, err := ln.Accept()
				ch <- result{c, err}
			}()
			return ch
		}

		for range 4 {
			offer()
		}
		first, second := <-accept(), <-accept()
		if first.err != nil || second.err != nil {
			t.Fatalf("accepts under the cap: %v, %v", first.err, second.err)
		}
		third := accept()
		synctest.Wait()
		select {
		case r := <-third:
			t.Fatalf("Accept at the cap returned %v, %v; want it to wait", r.c, r.err)
		default:
		}
		if got := len(bl.q); got != 2 {
			t.Errorf("%d connections left in the backlog; want 2 (none taken at the cap)", got)
		}
		if got, want := ln.Open(), 2; got != want {
			t.Errorf("Open() = %d, want %d", got, want)
		}

		first.c.Close()
		first.c.Close() // a second Close gives back nothing more
		if r := <-third; r.err != nil {
			t.Fatalf("Accept after a close: %v", r.err)
		}
		fourth := accept()
		synctest.Wait()
		select {
		case r := <-fourth:
			t.Fatalf("Accept at the cap again returned %v, %v; want it to wait", r.c, r.err)
		default:
		}
		if got := waits.Load(); got != 2 {
			t.Errorf("onFull called %d times; want 2, once per wait", got)
		}

		ln.Close()
		if r := <-fourth; !errors.Is(r.err, net.ErrClosed) {
			t.Errorf("waiting Accept after Close: %v; want net.ErrClosed", r.err)
		}
	})
}

// TestTotalFailedAcceptGivesBackItsSlot: an error from the listener does
// not keep a slot.
func TestTotalFailedAcceptGivesBackItsSlot(t *testing.T) {
	ql := &queueListener{q: make(chan net.Conn, 1)}
	ln := NewTotal(ql, 1, nil).(*Total)
	for range 3 {
		if _, err := ln.Accept(); !errors.Is(err, errDrained) {
			t.Fatalf("Accept on an empty queue: %v; want errDrained", err)
		}
	}
	if got := ln.Open(); got != 0 {
		t.Errorf("Open() = %d after failed accepts; want 0", got)
	}
}

func TestZeroTotalWrapsNothing(t *testing.T) {
	ql := &queueListener{}
	for _, max := range []int{0, -1} {
		if ln := NewTotal(ql, max, nil); ln != ql {
			t.Errorf("NewTotal(ln, %d) = %T, want ln itself", max, ln)
		}
	}
}
