package connlimit

import (
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
