//go:build !unix

package loadtest

import "errors"

// RaiseFileLimit is not supported on this system; it returns 0 and an error.
func RaiseFileLimit() (uint64, error) {
	return 0, errors.New("raising the open file limit is not supported on this system")
}

// fileLimit returns 0: unknown.
func fileLimit() uint64 { return 0 }
