package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"deadline", live, fmt.Errorf("Post: %w", context.DeadlineExceeded), errTimeout},
		{"net timeout", live, &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, errTimeout},
		{"run over", done, opErr(syscall.ECONNRESET), errCanceled},
		{"canceled", live, context.Canceled, errCanceled},
		{"refused", live, opErr(syscall.ECONNREFUSED), errConnRefused},
		{"reset", live, opErr(syscall.ECONNRESET), errConnReset},
		{"eof", live, fmt.Errorf("Post: %w", io.EOF), errConnReset},
		{"emfile", live, &net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.EMFILE)}, errFileLimit},
		{"no ports", live, opErr(syscall.EADDRNOTAVAIL), errNoPorts},
		{"dns", live, &net.DNSError{Err: "no such host", Name: "nowhere.invalid"}, errDNS},
		{"http2", live, errors.New("http2: server sent GOAWAY and closed the connection"), errHTTP2},
		{"other net", live, &net.OpError{Op: "write", Err: errors.New("boom")}, errConn},
		{"other", live, errors.New("boom"), errOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.ctx, tt.err); got != tt.want {
				t.Errorf("classify(%v) = %q; want %q", tt.err, got, tt.want)
			}
		})
	}
}
