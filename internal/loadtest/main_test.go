package loadtest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"testing"
)

// workerEnv, when set in a test binary's environment, makes it a worker
// process of RunWorkers instead of running tests.
const workerEnv = "CATO_LOADTEST_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err := ServeWorker(ctx, os.Stdin, os.Stdout, discard())
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
