//go:build unix

package use

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used, all threads, user and
// system: on a shared machine it shows what a benchmark costs when wall
// time also counts other programs' turns on the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
