package appconfig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appconfigdata"
	"github.com/aws/aws-sdk-go-v2/service/appconfigdata/types"

	"github.com/cato-gateway/cato/internal/rollout"
)

// dataAPI is the part of the AppConfigData API Source uses; it is
// implemented by *appconfigdata.Client.
type dataAPI interface {
	StartConfigurationSession(ctx context.Context, in *appconfigdata.StartConfigurationSessionInput, optFns ...func(*appconfigdata.Options)) (*appconfigdata.StartConfigurationSessionOutput, error)
	GetLatestConfiguration(ctx context.Context, in *appconfigdata.GetLatestConfigurationInput, optFns ...func(*appconfigdata.Options)) (*appconfigdata.GetLatestConfigurationOutput, error)
}

var _ dataAPI = (*appconfigdata.Client)(nil)

// Target addresses the AppConfig configuration profile that holds the flag
// document.
type Target struct {
	Application, Environment, Profile string
	// Region is AppConfig's AWS region. Empty means the AWS configuration's
	// region, or us-east-1 when that has none.
	Region string
	// Endpoint overrides AppConfig's endpoint: a VPC endpoint, or a local
	// server in tests. Empty means AWS's.
	Endpoint string
}

// NewClient returns an AppConfigData client from the AWS configuration
// app loads (credentials, retries), with t's region and endpoint applied.
func NewClient(awsCfg aws.Config, t Target) *appconfigdata.Client {
	return appconfigdata.NewFromConfig(awsCfg, func(o *appconfigdata.Options) {
		if t.Region != "" {
			o.Region = t.Region
		}
		if o.Region == "" {
			o.Region = "us-east-1"
		}
		if t.Endpoint != "" {
			o.BaseEndpoint = aws.String(t.Endpoint)
		}
	})
}

// DefaultPoll is the shortest wait between polls unless Options says
// otherwise.
const DefaultPoll = 30 * time.Second

// Options wires a Source. Target, Client and Store are required.
type Options struct {
	Target Target
	// Poll is the shortest wait between polls; AppConfig may ask for a
	// longer one. Zero means DefaultPoll.
	Poll   time.Duration
	Client dataAPI
	Store  rollout.FlagStore
	// Decider, if set, applies a new flag on this replica at once, before
	// its Poller reads it back.
	Decider *rollout.Decider
	Log     *slog.Logger
}

// Source polls AWS AppConfig and writes each new version of the flag
// document to the store, with source appconfig. A version is written once:
// Source skips one whose reference (the version label, or a hash of the
// content) is the last AppConfig change in the store's history, so a
// restarted replica does not undo a later change made through the admin
// API, and the most recent change wins. Create it with New; app runs Run in
// its errgroup. Source is not safe for concurrent use: Run and Poll belong
// to one goroutine.
type Source struct {
	opts  Options
	token *string // the next configuration token; nil means start a session
}

// New returns a Source.
func New(opts Options) *Source {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	return &Source{opts: opts}
}

// minPoll is AppConfig's smallest allowed poll interval (15s).
const minPoll = 15 * time.Second

// Run polls until ctx is done and returns nil then. It waits what
// AppConfig asks (NextPollIntervalInSeconds) or Options.Poll, whichever is
// longer, between polls; failures are logged and retried at that pace.
func (s *Source) Run(ctx context.Context) error {
	for {
		wait, err := s.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.opts.Log.Warn("polling AWS AppConfig for the rollout flag failed", slog.Any("err", err))
		}
		t := time.NewTimer(max(wait, s.opts.Poll))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Poll asks AppConfig once for a newer document, starting a configuration
// session first when there is none (at start, or after the token expired),
// and writes a new version to the store. It returns how long AppConfig
// asks to wait before the next poll.
func (s *Source) Poll(ctx context.Context) (time.Duration, error) {
	c := s.opts.Target
	if s.token == nil {
		out, err := s.opts.Client.StartConfigurationSession(ctx, &appconfigdata.StartConfigurationSessionInput{
			ApplicationIdentifier:                aws.String(c.Application),
			EnvironmentIdentifier:                aws.String(c.Environment),
			ConfigurationProfileIdentifier:       aws.String(c.Profile),
			RequiredMinimumPollIntervalInSeconds: aws.Int32(int32(max(s.opts.Poll, minPoll) / time.Second)),
		})
		if err != nil {
			return 0, fmt.Errorf("starting AppConfig session for %s/%s/%s: %w", c.Application, c.Environment, c.Profile, err)
		}
		if out.InitialConfigurationToken == nil {
			return 0, errors.New("AppConfig gave no configuration token")
		}
		s.token = out.InitialConfigurationToken
	}
	out, err := s.opts.Client.GetLatestConfiguration(ctx, &appconfigdata.GetLatestConfigurationInput{ConfigurationToken: s.token})
	if err != nil {
		var bad *types.BadRequestException
		var gone *types.ResourceNotFoundException
		if errors.As(err, &bad) || errors.As(err, &gone) {
			s.token = nil // expired or invalid token: start a new session next time
		}
		return 0, fmt.Errorf("getting AppConfig configuration: %w", err)
	}
	s.token = out.NextPollConfigurationToken
	wait := time.Duration(out.NextPollIntervalInSeconds) * time.Second
	if len(out.Configuration) == 0 {
		return wait, nil // unchanged since the last call of this session
	}
	return wait, s.apply(ctx, out.Configuration, aws.ToString(out.VersionLabel))
}

func (s *Source) apply(ctx context.Context, doc []byte, label string) error {
	pct, err := rollout.ParseDocument(doc)
	if err != nil {
		return fmt.Errorf("AppConfig document: %w", err)
	}
	ref := label
	if ref == "" {
		sum := sha256.Sum256(doc)
		ref = "sha256:" + hex.EncodeToString(sum[:8])
	}
	h, err := s.opts.Store.History(ctx, 0)
	if err != nil {
		return fmt.Errorf("reading rollout history: %w", err)
	}
	if last, ok := rollout.LastFrom(h, rollout.SourceAppConfig); ok && last.Ref == ref {
		return nil // this version was applied before (by this replica or another)
	}
	c := s.opts.Target
	f := rollout.Flag{
		Percentage: pct, Source: rollout.SourceAppConfig,
		Actor:  fmt.Sprintf("appconfig:%s/%s/%s", c.Application, c.Environment, c.Profile),
		Reason: "AWS AppConfig version " + ref, Ref: ref,
	}
	if err := f.Validate(); err != nil {
		return err
	}
	stored, err := s.opts.Store.Set(ctx, f)
	if err != nil {
		return fmt.Errorf("writing rollout flag from AppConfig: %w", err)
	}
	if s.opts.Decider != nil {
		s.opts.Decider.Apply(stored)
	}
	s.opts.Log.Info("rollout flag changed by AWS AppConfig", slog.Float64("percentage", stored.Percentage),
		slog.String("ref", ref), slog.Int64("version", stored.Version))
	return nil
}
