package connlimit

import (
	"net"
	"net/netip"
	"sync"
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
			// Counted before the close, so that whoever sees the close
			// sees the count.
			if l.onRefuse != nil {
				l.onRefuse(ip)
			}
			_ = c.Close()
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
// once, whatever their addresses: at the cap it stops accepting until one
// of them closes. Further connections wait in the kernel's listen backlog
// (and past it, their SYNs go unanswered and clients retry), as nginx's
// and HAProxy's do at their connection caps: a flood of connections then
// costs the process nothing, where accepting and closing each one at the
// cap cost a core thousands of accepts a second. It keeps a flood of
// clients from taking the process to its open-file limit, where the
// listener itself could accept nothing.
//
// Create one with NewTotal; it is safe for concurrent use.
type Total struct {
	net.Listener
	slots  chan struct{} // one held by each open connection
	onFull func()

	closed    chan struct{}
	closeOnce sync.Once
}

// NewTotal wraps ln so that at most max of its connections are open at
// once; max zero or less wraps nothing and returns ln. onFull, when not
// nil, is called each time Accept has to wait for a connection to close.
func NewTotal(ln net.Listener, max int, onFull func()) net.Listener {
	if max <= 0 {
		return ln
	}
	return &Total{Listener: ln, slots: make(chan struct{}, max), onFull: onFull, closed: make(chan struct{})}
}

// Accept waits until fewer than the cap are open, then returns the next
// connection; it returns net.ErrClosed once the listener is closed.
func (l *Total) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		if l.onFull != nil {
			l.onFull()
		}
		select {
		case l.slots <- struct{}{}:
		case <-l.closed:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &totalConn{Conn: c, l: l}, nil
}

// Close closes the listener and ends an Accept waiting at the cap.
func (l *Total) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Open returns how many connections are open (and, while an Accept is
// under way, the slot it holds).
func (l *Total) Open() int { return len(l.slots) }

// totalConn gives its slot back when it is first closed.
type totalConn struct {
	net.Conn
	l    *Total
	once sync.Once
}

func (c *totalConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.l.slots })
	return err
}
