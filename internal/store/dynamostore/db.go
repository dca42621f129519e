package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// The table. Every item has a partition key pk and a sort key sk (strings);
// ttl (a Number, Unix seconds) is the table's time-to-live attribute where
// the server supports it. Key parts that come from users are escaped
// (url.QueryEscape), so that "#" only ever separates:
//
//	pk                       sk            what
//	s#TENANT#ID              s             a session: turns, summary, expiry
//	rollout                  flag          the rollout flag, version, history
//	rollout                  ver           the version, for watchers
//	c#SHARD                  ID            a cache entry (16 shards by ID)
//	cfeed                    SEQ           a change of the cache's feed
//	cfeed                    seq           the feed's sequence counter
//	m#TENANT#USER            u             a user's memory: version, facts
//	m#TENANT#USER            e#ID / v#ID   an episode, its vector
//	m#TENANT                 sf#SESSION    when a session was forgotten
//	ms#TENANT#SESSION        USER NUL ID   an episode of the session
//	mq                       ID            an interaction queued for memory
//	keys                     ID            a client key
//	kh#HASH                  h             the id of the key with that hash
//	k#ID                     w#MINUTE      a key's requests and tokens
//	k#ID                     p#PERIOD      a key's spend
//	f#TENANT#REQUEST         a / r#USER    an answer, a user's rating of it
//	fc                       MINUTE#…      ratings counted by minute

// Attribute names shared by every kind of item.
const (
	attrPK  = "pk"
	attrSK  = "sk"
	attrTTL = "ttl"
)

// Options configure Open.
type Options struct {
	// Table names the table, which Open creates when it is missing.
	Table string
	// Region is the AWS region; empty means the SDK's default chain
	// (AWS_REGION, the shared config), else us-east-1.
	Region string
	// Endpoint overrides the service endpoint (a local DynamoDB, dynalite);
	// empty means AWS's own. With an endpoint and no credentials in the
	// default chain, Open signs with static dummy credentials.
	Endpoint string
}

var tableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// ParseURL parses dynamodb://TABLE[?region=REGION][&endpoint=URL]. TABLE
// is the table's name (3 to 255 letters, digits, "_", "-", "."). endpoint
// is an http or https URL. Unknown or repeated parameters are an error.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, err
	}
	if u.Scheme != "dynamodb" {
		return Options{}, fmt.Errorf("scheme %q is not dynamodb", u.Scheme)
	}
	if u.Opaque != "" || u.Fragment != "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return Options{}, errors.New("want dynamodb://TABLE?region=REGION[&endpoint=URL]")
	}
	o := Options{Table: u.Host}
	if !tableName.MatchString(o.Table) {
		return Options{}, fmt.Errorf("table name %q: want 3 to 255 letters, digits, '_', '-' or '.'", o.Table)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Options{}, fmt.Errorf("parameters: %w", err)
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return Options{}, fmt.Errorf("parameter %s given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "region":
			if v == "" {
				return Options{}, errors.New("region is empty")
			}
			o.Region = v
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return Options{}, fmt.Errorf("endpoint %q: want an http or https URL", v)
			}
			o.Endpoint = v
		default:
			return Options{}, fmt.Errorf("unknown parameter %q (want region or endpoint)", k)
		}
	}
	return o, nil
}

// DB is an open DynamoDB table, shared by the stores built on it. It is
// safe for concurrent use.
type DB struct {
	c     *dynamodb.Client
	table *string
	log   *slog.Logger
	// nativeTTL reports whether the server deletes expired items by
	// itself. Either way, readers skip expired items; without it, they
	// also delete the ones they meet.
	nativeTTL bool
}

// createWait bounds how long Open waits for a new table to become active.
const createWait = 2 * time.Minute

// Open connects to DynamoDB, creates the table when it is missing (a
// replica that loses the race to create it waits for the winner's), and
// turns its time to live on where the server supports it.
func Open(ctx context.Context, o Options, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !tableName.MatchString(o.Table) {
		return nil, fmt.Errorf("table name %q is not valid", o.Table)
	}
	var opts []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	if o.Endpoint != "" {
		// A local server: the instance metadata service has nothing to say.
		opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if o.Endpoint != "" {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cfg.Credentials.Retrieve(cctx)
		cancel()
		if err != nil {
			cfg.Credentials = credentials.NewStaticCredentialsProvider("cato-local", "cato-local", "")
		}
	}
	c := dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		if o.Endpoint != "" {
			do.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	db := &DB{c: c, table: aws.String(o.Table), log: log}
	if err := db.ensureTable(ctx); err != nil {
		return nil, fmt.Errorf("dynamodb table %s: %w", o.Table, err)
	}
	return db, nil
}

func (db *DB) ensureTable(ctx context.Context) error {
	_, err := db.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: db.table})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		_, err = db.c.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName: db.table,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
			},
			BillingMode: types.BillingModePayPerRequest,
		})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("creating: %w", err)
		}
		db.log.Info("dynamodb: created the table", slog.String("table", *db.table))
	case err != nil:
		return err
	}
	w := dynamodb.NewTableExistsWaiter(db.c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 2*time.Second
	})
	d, err := w.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: db.table}, createWait)
	if err != nil {
		return fmt.Errorf("waiting for it to become active: %w", err)
	}
	if err := checkKeys(d.Table); err != nil {
		return err
	}
	return db.ensureTTL(ctx)
}

// checkKeys refuses a table whose key is not pk (hash) and sk (range),
// both strings: one created by hand for something else.
func checkKeys(t *types.TableDescription) error {
	if t == nil {
		return errors.New("no description")
	}
	want := map[string]types.KeyType{attrPK: types.KeyTypeHash, attrSK: types.KeyTypeRange}
	ok := len(t.KeySchema) == 2
	for _, k := range t.KeySchema {
		ok = ok && k.AttributeName != nil && want[*k.AttributeName] == k.KeyType
	}
	for _, a := range t.AttributeDefinitions {
		if a.AttributeName != nil && want[*a.AttributeName] != "" && a.AttributeType != types.ScalarAttributeTypeS {
			ok = false
		}
	}
	if !ok {
		return errors.New("its key is not pk (hash) and sk (range), both strings: not a table Cato created")
	}
	return nil
}

// ensureTTL turns the ttl attribute on as the table's time to live. A
// server without the API (dynalite) leaves expiry to the readers.
func (db *DB) ensureTTL(ctx context.Context) error {
	d, err := db.c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: db.table})
	if unsupported(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading its time to live: %w", err)
	}
	if t := d.TimeToLiveDescription; t != nil && (t.TimeToLiveStatus == types.TimeToLiveStatusEnabled || t.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		db.nativeTTL = true
		return nil
	}
	_, err = db.c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               db.table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	switch {
	case unsupported(err):
		return nil
	case err != nil && strings.Contains(err.Error(), "already enabled"):
		// Another replica got there first.
	case err != nil:
		return fmt.Errorf("turning its time to live on: %w", err)
	}
	db.nativeTTL = true
	return nil
}

// unsupported reports whether err says the server lacks the operation.
func unsupported(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "UnknownOperation")
}

// Ping checks that the table answers, with an eventually consistent read
// of one small item (half a read unit): health probes stay on the data
// plane, whose rate DynamoDB does not cap as it caps DescribeTable.
func (db *DB) Ping(ctx context.Context) error {
	_, err := db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table, Key: key("rollout", "ver")})
	return err
}

// Close releases nothing: the SDK's connections close with the process.
func (db *DB) Close() error { return nil }

// Table returns the table's name.
func (db *DB) Table() string { return *db.table }

// DeleteTable drops the table and everything in it. Stores built on db
// fail afterwards.
func (db *DB) DeleteTable(ctx context.Context) error {
	_, err := db.c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: db.table})
	return err
}

// --- attribute helpers ---

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func b(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

// part escapes a key part that comes from a user.
func part(v string) string { return url.QueryEscape(v) }

func getS(m map[string]types.AttributeValue, name string) string {
	if v, ok := m[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(m map[string]types.AttributeValue, name string) int64 {
	if v, ok := m[name].(*types.AttributeValueMemberN); ok {
		x, _ := strconv.ParseInt(v.Value, 10, 64)
		return x
	}
	return 0
}

func getB(m map[string]types.AttributeValue, name string) []byte {
	if v, ok := m[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

// ttlOf is the ttl attribute of an item that expires at t (Unix seconds,
// rounded up so that the server never deletes an item early).
func ttlOf(t time.Time) types.AttributeValue {
	return n((t.UnixMilli() + 999) / 1000)
}

// conditionFailed reports whether err is a failed condition of a write.
func conditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// queryAll runs in page by page and calls fn for every item.
func (db *DB) queryAll(ctx context.Context, in *dynamodb.QueryInput, fn func(map[string]types.AttributeValue) error) error {
	in.TableName = db.table
	p := dynamodb.NewQueryPaginator(db.c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// batchDelete deletes keys, 25 per request, retrying what the server
// leaves unprocessed.
func (db *DB) batchDelete(ctx context.Context, keys []map[string]types.AttributeValue) error {
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
	}
	return db.batchWrite(ctx, reqs)
}

// batchWrite sends reqs, 25 per BatchWriteItem, retrying what the server
// leaves unprocessed. No two of reqs may name the same item.
func (db *DB) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		chunk := reqs[:min(25, len(reqs))]
		reqs = reqs[len(chunk):]
		for wait := 10 * time.Millisecond; len(chunk) > 0; wait = min(2*wait, time.Second) {
			out, err := db.c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{*db.table: chunk}})
			if err != nil {
				return err
			}
			chunk = out.UnprocessedItems[*db.table]
			if len(chunk) > 0 {
				if err := sleep(ctx, wait); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
