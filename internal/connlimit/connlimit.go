package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Listener is a net.Listener that closes, as soon as it is accepted, a
// connection from an address already holding Max open connections: the
// client sees its connection closed before any answer. Refusing at
// accept costs one file descriptor for an instant, where answering 503
// would mean reading the request first. Connections are counted by IP
// address (the port is ignored) until they are closed.
//
// Create one with New; it is safe for concurrent use.
type Listener struct {
	net.Listener
	max      int
	onRefuse func(netip.Addr)

	mu   sync.Mutex
	open map[netip.Addr]int
}

// New wraps ln so that one IP address holds at most max connections; max
// zero or less wraps nothing and returns ln. onRefuse, when not nil, is
// called with the address of each connection refused.
func New(ln net.Listener, max int, onRefuse func(netip.Addr)) net.Listener {
	if max <= 0 {
		return ln
	}
	return &Listener{Listener: ln, max: max, onRefuse: onRefuse, open: map[netip.Addr]int{}}
}

// Accept returns the next connection whose address is under its cap,
// closing the others as they come.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := addrOf(c.RemoteAddr())
		l.mu.Lock()
		n := l.open[ip]
		if n >= l.max {
			l.mu.Unlock()
			_ = c.Close()
			if l.onRefuse != nil {
				l.onRefuse(ip)
			}
			continue
		}
		l.open[ip] = n + 1
		l.mu.Unlock()
		return &conn{Conn: c, l: l, ip: ip}, nil
	}
}

// Open returns how many connections ip holds open.
func (l *Listener) Open(ip netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[ip]
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] <= 1 {
		delete(l.open, ip)
		return
	}
	l.open[ip]--
}

// addrOf returns the IP address of a connection's remote address, IPv4
// in IPv6 unmapped; the zero Addr when it has none (a Unix socket), so
// such connections share one count.
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// conn gives its address's slot back when it is first closed.
type conn struct {
	net.Conn
	l    *Listener
	ip   netip.Addr
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// Total is a net.Listener that holds at most Max connections open at
// once, whatever their addresses: a connection accepted past it is
// closed at once. It keeps a flood of clients from taking the process to
// its open-file limit, where the listener itself could accept nothing.
//
// Create one with NewTotal; it is safe for concurrent use.
type Total struct {
	net.Listener
	max      int64
	onRefuse func(netip.Addr)
	open     atomic.Int64
}

// NewTotal wraps ln so that at most max of its connections are open at
// once; max zero or less wraps nothing and returns ln. onRefuse, when not
// nil, is called with the address of each connection refused.
func NewTotal(ln net.Listener, max int, onRefuse func(netip.Addr)) net.Listener {
	if max <= 0 {
		return ln
	}
	return &Total{Listener: ln, max: int64(max), onRefuse: onRefuse}
}

// Accept returns the next connection while fewer than the cap are open,
// closing the others as they come.
func (l *Total) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			_ = c.Close()
			if l.onRefuse != nil {
				l.onRefuse(addrOf(c.RemoteAddr()))
			}
			continue
		}
		return &totalConn{Conn: c, l: l}, nil
	}
}

// Open returns how many connections are open.
func (l *Total) Open() int { return int(l.open.Load()) }

// totalConn gives its slot back when it is first closed.
type totalConn struct {
	net.Conn
	l    *Total
	once sync.Once
}

func (c *totalConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
