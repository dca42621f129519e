package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ShedGrace is how long a connection must have been receiving a request
// before Shedding may close it for a newcomer: a client's first bytes
// take a round trip or two to arrive, and a new connection's rate means
// nothing before.
const ShedGrace = time.Second

// shedSample is how many open connections Shedding looks at to pick one
// to close; looking at them all would cost each accept the whole count.
const shedSample = 32

// Shedding is a net.Listener that holds at most Max connections open at
// once, like Total, but when full it makes room for a newcomer by closing
// the open connection that makes the least progress: of a sample of the
// connections still receiving a request (headers or body) for at least
// ShedGrace, the one that has sent the fewest bytes per second since its
// request began. Connections whose request has arrived (Arrived), and
// idle keep-alive ones, are never closed for a newcomer: the first hold
// an answer being served, the second belong to clients that send whole
// requests. When no connection may be closed, the newcomer is closed at
// once, as Total does.
//
// The HTTP server reports each connection's requests: Receiving when a
// request begins (net/http's StateActive), Idle when the connection waits
// for the next one (StateIdle), and Arrived when a request has come in
// whole. Create one with NewShedding; it is safe for concurrent use.
type Shedding struct {
	net.Listener
	max      int64
	onRefuse func(netip.Addr)
	onShed   func(netip.Addr)
	now      func() time.Time

	mu    sync.Mutex
	conns map[*ShedConn]struct{}
}

// NewShedding wraps ln so that at most max of its connections are open
// at once, shedding the slowest for newcomers; max zero or less wraps
// nothing and returns ln. onRefuse, when not nil, is called with the
// address of each newcomer closed, onShed with that of each open
// connection closed for a newcomer. now is the clock (nil: time.Now).
func NewShedding(ln net.Listener, max int, onRefuse, onShed func(netip.Addr), now func() time.Time) net.Listener {
	if max <= 0 {
		return ln
	}
	if now == nil {
		now = time.Now
	}
	return &Shedding{Listener: ln, max: int64(max), onRefuse: onRefuse, onShed: onShed, now: now, conns: map[*ShedConn]struct{}{}}
}

// Accept returns the next connection, making room for it when the cap is
// full, or closing it when no room can be made.
func (l *Shedding) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		now := l.now()
		l.mu.Lock()
		var victim *ShedConn
		if int64(len(l.conns)) >= l.max {
			victim = l.slowest(now)
			if victim == nil {
				l.mu.Unlock()
				if l.onRefuse != nil {
					l.onRefuse(addrOf(c.RemoteAddr()))
				}
				_ = c.Close()
				continue
			}
			delete(l.conns, victim)
		}
		sc := &ShedConn{Conn: c, l: l}
		sc.receiving(now)
		l.conns[sc] = struct{}{}
		l.mu.Unlock()
		if victim != nil {
			_ = victim.Close()
			if l.onShed != nil {
				l.onShed(addrOf(victim.RemoteAddr()))
			}
		}
		return sc, nil
	}
}

// slowest returns, of a sample of the open connections, the receiving one
// with the lowest rate past ShedGrace; nil when none qualifies. l.mu is
// held.
func (l *Shedding) slowest(now time.Time) *ShedConn {
	var worst *ShedConn
	worstRate := 0.0
	seen := 0
	for c := range l.conns { // map order is random: a fair sample
		if seen++; seen > shedSample {
			break
		}
		rate, ok := c.rate(now)
		if ok && (worst == nil || rate < worstRate) {
			worst, worstRate = c, rate
		}
	}
	return worst
}

// Open returns how many connections are open.
func (l *Shedding) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Connection states, for shedding.
const (
	stateReceiving int32 = iota // a request is arriving (or the first one is awaited)
	stateArrived                // the request has arrived: its answer is being served
	stateIdle                   // between requests
)

// ShedConn is a connection Shedding accepted. Its methods report the
// progress of its requests; they are safe for concurrent use.
type ShedConn struct {
	net.Conn
	l     *Shedding
	state atomic.Int32
	since atomic.Int64 // unix nanoseconds the current request began
	bytes atomic.Int64 // bytes read since then
	once  sync.Once
}

func (c *ShedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.bytes.Add(int64(n))
	return n, err
}

// Receiving reports that a request has begun to arrive (net/http's
// StateActive): the connection may be shed if it arrives too slowly.
func (c *ShedConn) Receiving() { c.receiving(c.l.now()) }

func (c *ShedConn) receiving(now time.Time) {
	c.since.Store(now.UnixNano())
	c.bytes.Store(0)
	c.state.Store(stateReceiving)
}

// Arrived reports that the connection's request has arrived whole: it is
// not shed while its answer is served.
func (c *ShedConn) Arrived() { c.state.Store(stateArrived) }

// Idle reports that the connection waits for its next request (net/http's
// StateIdle): it is not shed.
func (c *ShedConn) Idle() { c.state.Store(stateIdle) }

// rate is the bytes per second received since the current request began,
// and whether the connection may be shed: receiving for ShedGrace or more.
func (c *ShedConn) rate(now time.Time) (float64, bool) {
	if c.state.Load() != stateReceiving {
		return 0, false
	}
	d := now.Sub(time.Unix(0, c.since.Load()))
	if d < ShedGrace {
		return 0, false
	}
	return float64(c.bytes.Load()) / d.Seconds(), true
}

// Close closes the connection and gives its slot back, once.
func (c *ShedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return err
}
