package provider

import (
	"context"
	"net/http/httptrace"
	"testing"
)

// A pool trace tells a wait for Cato's own pool from a dial or a
// connection got, and is reused only when no hook can run after its
// attempt: every connection came at once from the idle pool.
func TestPoolTrace(t *testing.T) {
	idle := httptrace.GotConnInfo{WasIdle: true}
	tests := []struct {
		name       string
		hooks      func(*httptrace.ClientTrace)
		wantWaited bool
		wantReused bool
	}{
		{"never asked", func(*httptrace.ClientTrace) {}, false, false},
		{"waiting for the pool", func(tr *httptrace.ClientTrace) { tr.GetConn("h:1") }, true, false},
		{"dialling", func(tr *httptrace.ClientTrace) { tr.GetConn("h:1"); tr.ConnectStart("tcp", "h:1") }, false, false},
		{"an idle connection", func(tr *httptrace.ClientTrace) { tr.GetConn("h:1"); tr.GotConn(idle) }, false, true},
		{"a connection another dial made", func(tr *httptrace.ClientTrace) { tr.GetConn("h:1"); tr.GotConn(httptrace.GotConnInfo{}) }, false, false},
		{"retried on a second idle connection", func(tr *httptrace.ClientTrace) {
			tr.GetConn("h:1")
			tr.GotConn(idle)
			tr.GetConn("h:1")
			tr.GotConn(idle)
		}, false, true},
		{"retried and left waiting", func(tr *httptrace.ClientTrace) {
			tr.GetConn("h:1")
			tr.GotConn(idle)
			tr.GetConn("h:1")
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, ctx := startPoolTrace(context.Background())
			tt.hooks(httptrace.ContextClientTrace(ctx))
			if got := pt.waitedForPool(); got != tt.wantWaited {
				t.Errorf("waitedForPool() = %v; want %v", got, tt.wantWaited)
			}
			if got := pt.done(); got != tt.wantReused {
				t.Errorf("done() = %v; want %v (reused)", got, tt.wantReused)
			}
		})
	}
	t.Run("composed with a trace in the context", func(t *testing.T) {
		var outer int
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GetConn: func(string) { outer++ }})
		pt, ctx := startPoolTrace(ctx)
		tr := httptrace.ContextClientTrace(ctx)
		tr.GetConn("h:1")
		tr.GotConn(idle)
		if outer != 1 || pt.waitedForPool() {
			t.Errorf("outer hook ran %d times, waited %v; want 1, false", outer, pt.waitedForPool())
		}
		if pt.done() {
			t.Error("a composed trace was put back for reuse")
		}
	})
}
