package loadtest

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// Error kinds, as counted in Result.Errors. An HTTP error status is counted
// as "http_<code>".
const (
	errTimeout         = "timeout"          // the per-request timeout passed
	errCanceled        = "canceled"         // the run was stopped (Ctrl-C) while in flight
	errConnRefused     = "conn_refused"     // nothing listening
	errConnReset       = "conn_reset"       // the peer reset or closed the connection mid-request
	errFileLimit       = "file_limit"       // EMFILE/ENFILE: out of file descriptors
	errNoPorts         = "no_ports"         // EADDRNOTAVAIL: out of ephemeral ports for a source address
	errDNS             = "dns"              // the host name did not resolve
	errHTTP2           = "http2"            // an HTTP/2 stream or connection error (RST_STREAM, GOAWAY)
	errConn            = "conn_error"       // another network error
	errStreamTruncated = "stream_truncated" // a stream ended without data: [DONE]
	errOther           = "other"
)

// statusKind is the error kind of an HTTP error status.
func statusKind(code int) string { return "http_" + strconv.Itoa(code) }

// classify names the kind of a transport or body-read error. runCtx is the
// run's context: when it is done the request was cut off by the end of the
// run, whatever error the transport gave.
func classify(runCtx context.Context, err error) string {
	var dnsErr *net.DNSError
	switch {
	case runCtx.Err() != nil:
		return errCanceled
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return errTimeout
	case errors.Is(err, context.Canceled):
		return errCanceled
	case errors.Is(err, syscall.ECONNREFUSED):
		return errConnRefused
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return errFileLimit
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return errNoPorts
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errConnReset
	case errors.As(err, &dnsErr):
		return errDNS
	case strings.Contains(err.Error(), "http2:"):
		// net/http's HTTP/2 errors are unexported types; their text says so.
		return errHTTP2
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return errConn
	}
	return errOther
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
