package rollout

import (
	"context"
	"fmt"
)

// Seed applies the config file's percentage (rollout.percentage) to
// store at start and returns the flag to start the Decider from. The file
// only wins when it says something new: Seed sets the flag when the store
// is empty, or when the file's percentage differs from the last one a
// config source wrote (the operator edited the file). Otherwise a later
// change (admin API, CLI, AppConfig, automatic rollback) stays in force, so
// restarting a replica never undoes a rollback.
func Seed(ctx context.Context, store FlagStore, percentage float64, actor string) (Flag, error) {
	h, err := store.History(ctx, 0)
	if err != nil {
		return Flag{}, fmt.Errorf("seeding rollout flag: %w", err)
	}
	if len(h) > 0 {
		last, ok := LastFrom(h, SourceConfig)
		if !ok || last.Percentage == percentage {
			return h[0], nil
		}
	}
	f := Flag{Percentage: percentage, Source: SourceConfig, Actor: actor, Reason: "rollout.percentage of the configuration at start"}
	if err := f.Validate(); err != nil {
		return Flag{}, fmt.Errorf("seeding rollout flag: %w", err)
	}
	f, err = store.Set(ctx, f)
	if err != nil {
		return Flag{}, fmt.Errorf("seeding rollout flag: %w", err)
	}
	return f, nil
}

// LastFrom returns the newest entry of history (newest first) that came
// from source. Sources that poll (AppConfig) use it to skip a value they
// already applied.
func LastFrom(history []Flag, source Source) (Flag, bool) {
	for _, f := range history {
		if f.Source == source {
			return f, true
		}
	}
	return Flag{}, false
}
