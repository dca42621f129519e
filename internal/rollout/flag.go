package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Source says where a change of the flag came from.
type Source string

// Sources of a change.
const (
	SourceConfig       Source = "config"        // the configuration (file, environment or built-in default), applied at start
	SourceAdminAPI     Source = "admin_api"     // PUT /api/admin/cato/rollout
	SourceCLI          Source = "cli"           // `cato rollout set|rollback`, through the admin API
	SourceAppConfig    Source = "appconfig"     // AWS AppConfig
	SourceAutoRollback Source = "auto_rollback" // Guard
)

// Valid reports whether s is one of the known sources.
func (s Source) Valid() bool {
	switch s {
	case SourceConfig, SourceAdminAPI, SourceCLI, SourceAppConfig, SourceAutoRollback:
		return true
	}
	return false
}

// ErrInvalidFlag is returned when a flag or its document is malformed or its
// percentage is outside 0..100. api answers it with 400.
var ErrInvalidFlag = errors.New("invalid rollout flag")

// Flag is the rollout flag: the share of users served by the new
// orchestrator, with who changed it, when and why. A Flag is a value; the
// current one lives in a FlagStore, and every Set appends one to the
// store's history. The zero Flag means 0% (all legacy).
type Flag struct {
	// Percentage is the share of users on the new side, 0..100, in steps of
	// 0.01 (one bucket in 10,000).
	Percentage float64 `json:"percentage"`
	// Version is assigned by the FlagStore: one more than the previous
	// flag's, so the latest change always has the highest version.
	Version int64 `json:"version"`
	// Source is where the change came from.
	Source Source `json:"source"`
	// Actor is who made the change (an operator's name, a host, "cato").
	Actor string `json:"actor,omitempty"`
	// Reason says why, in words.
	Reason string `json:"reason,omitempty"`
	// At is when the change was made.
	At time.Time `json:"at"`
	// Ref is a source-specific reference: the AppConfig version label or
	// content hash, so that a source does not apply the same value twice.
	Ref string `json:"ref,omitempty"`
}

// Validate checks f's percentage and source and rounds the percentage to a
// whole bucket (0.01). It returns an error wrapping ErrInvalidFlag.
func (f *Flag) Validate() error {
	p := f.Percentage
	if math.IsNaN(p) || p < 0 || p > 100 {
		return fmt.Errorf("%w: percentage %v is not between 0 and 100", ErrInvalidFlag, p)
	}
	f.Percentage = math.Round(p*100) / 100
	if !f.Source.Valid() {
		return fmt.Errorf("%w: unknown source %q", ErrInvalidFlag, f.Source)
	}
	return nil
}

// threshold returns the number of buckets (of 10,000) on the new side.
func (f *Flag) threshold() uint32 {
	return uint32(math.Round(f.Percentage * 100))
}

// Document is the flag as the runbook writes it to AWS AppConfig and as the
// admin API reads and writes it: {"use_new_orchestrator": {"percentage": N}}.
type Document struct {
	UseNewOrchestrator *Setting `json:"use_new_orchestrator"`
}

// Setting is the body of the use_new_orchestrator key.
type Setting struct {
	Percentage *float64 `json:"percentage"`
}

// NewDocument returns the document for percentage p.
func NewDocument(p float64) Document {
	return Document{UseNewOrchestrator: &Setting{Percentage: &p}}
}

// ParseDocument reads {"use_new_orchestrator": {"percentage": N}} and returns
// N. Unknown keys beside use_new_orchestrator are ignored (the admin API adds
// actor and reason, AppConfig documents may carry other flags); a missing
// key, a missing or non-numeric percentage, or one outside 0..100 is an
// error wrapping ErrInvalidFlag.
func ParseDocument(b []byte) (float64, error) {
	var d Document
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalidFlag, err)
	}
	if dec.More() {
		return 0, fmt.Errorf("%w: trailing data after the document", ErrInvalidFlag)
	}
	if d.UseNewOrchestrator == nil || d.UseNewOrchestrator.Percentage == nil {
		return 0, fmt.Errorf(`%w: want {"use_new_orchestrator": {"percentage": N}}`, ErrInvalidFlag)
	}
	f := Flag{Percentage: *d.UseNewOrchestrator.Percentage, Source: SourceConfig}
	if err := f.Validate(); err != nil {
		return 0, err
	}
	return f.Percentage, nil
}
