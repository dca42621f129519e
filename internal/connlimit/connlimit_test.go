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
		case <-time.After(5 * time.Second):
			t.Fatal("no connection accepted")
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

// TestTotalCap offers connections in two waves, closing some of the first
// wave's in between, and checks which are accepted, which refused and
// how many are open.
func TestTotalCap(t *testing.T) {
	tests := []struct {
		name                string
		max                 int
		first, closed, then int
		wantAccepted        int // over both waves
		wantRefused         int
		wantOpen            int
	}{
		{"under the cap", 5, 3, 0, 1, 4, 0, 4},
		{"at the cap", 3, 3, 0, 0, 3, 0, 3},
		{"past the cap", 3, 5, 0, 2, 3, 4, 3},
		{"closing frees slots", 3, 4, 2, 3, 5, 2, 3},
		{"closing all", 2, 2, 2, 2, 4, 0, 2},
		{"cap of one", 1, 3, 1, 2, 2, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ql := &queueListener{q: make(chan net.Conn, 16)}
			var refused atomic.Int64
			ln := NewTotal(ql, tt.max, func(netip.Addr) { refused.Add(1) }).(*Total)
			var peers []net.Conn
			wave := func(n int) []net.Conn {
				for range n {
					server, client := net.Pipe()
					peers = append(peers, client)
					ql.q <- server
				}
				var got []net.Conn
				for {
					c, err := ln.Accept()
					if err != nil {
						if !errors.Is(err, errDrained) {
							t.Fatal(err)
						}
						return got
					}
					got = append(got, c)
				}
			}
			defer func() {
				for _, p := range peers {
					p.Close()
				}
			}()
			held := wave(tt.first)
			accepted := len(held)
			for _, c := range held[:tt.closed] {
				c.Close()
				c.Close() // a second Close gives back nothing more
			}
			accepted += len(wave(tt.then))
			if accepted != tt.wantAccepted {
				t.Errorf("accepted %d, want %d", accepted, tt.wantAccepted)
			}
			if got := refused.Load(); got != int64(tt.wantRefused) {
				t.Errorf("refused %d, want %d", got, tt.wantRefused)
			}
			if got := ln.Open(); got != tt.wantOpen {
				t.Errorf("Open() = %d, want %d", got, tt.wantOpen)
			}
		})
	}
}

// TestTotalRefusedIsClosed checks that a refused connection is closed,
// so its client reads end of file rather than waiting.
func TestTotalRefusedIsClosed(t *testing.T) {
	ql := &queueListener{q: make(chan net.Conn, 2)}
	ln := NewTotal(ql, 1, nil)
	s1, c1 := net.Pipe()
	s2, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	ql.q <- s1
	ql.q <- s2
	if _, err := ln.Accept(); err != nil {
		t.Fatal(err)
	}
	if _, err := ln.Accept(); !errors.Is(err, errDrained) {
		t.Fatalf("second Accept: %v, want the second connection refused", err)
	}
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("refused connection read: %v, want EOF", err)
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
