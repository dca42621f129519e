package app

import "syscall"

// openFileLimit returns the process's soft limit on open files (which the
// Go runtime raises to the hard limit at start-up), or zero when unknown.
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	cur := uint64(rl.Cur) // int64 on some systems
	if cur == ^uint64(0) {
		return 0 // unlimited
	}
	return cur
}
