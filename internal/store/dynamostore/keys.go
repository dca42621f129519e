package dynamostore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/keys"
)

// Client keys are these items:
//
//	pk        sk        what
//	keys      ID        a key: doc (the JSON keys.Key, written once) and
//	                    revoked (RFC 3339, set once)
//	kh#HASH   h         id: the key whose secret hashes to HASH
//	k#ID      w#WINDOW  r and t: requests and tokens of one minute, ttl
//	                    windowKeep after the minute began
//	k#ID      p#PERIOD  n: the spend of a budget period in billionths of
//	                    a dollar, ttl spendKeep after it was last counted
//
// The key records share one partition, so that List is one Query; they
// are written rarely and read once per replica per key and second (the
// gate caches lookups). The counters spread over a partition per key.
//
// Admit is one conditional UpdateItem of the minute's item: ADD one
// request and the tokens, conditioned on the counts the limits allow.
// DynamoDB applies writes to one item one after the other, so of two
// replicas admitting the last request of a minute at once, one meets the
// condition and the other sees the count the first left. The budget is
// read (strongly consistent) just before: spend only grows through
// Settle, after an answer, so the check is as exact as the spend known
// when the request comes.

// windowKeep is how long a minute's counts are kept after the minute
// began: room for answers that settle after their minute.
const windowKeep = 5 * time.Minute

// spendKeep outlives the longest budget period (a month) with room for
// the admin API to list last month's spend.
const spendKeep = 100 * 24 * time.Hour

const keysPK = "keys"

// KeyStore is the DynamoDB keys.Store, shared by every replica on the
// table. It is safe for concurrent use.
type KeyStore struct {
	db  *DB
	now func() time.Time
}

var _ keys.Store = (*KeyStore)(nil)

// NewKeyStore returns the key store of db.
func NewKeyStore(db *DB) *KeyStore { return &KeyStore{db: db, now: time.Now} }

func keyRecordKey(id string) map[string]types.AttributeValue { return key(keysPK, part(id)) }

func keyHashKey(hash string) map[string]types.AttributeValue { return key("kh#"+part(hash), "h") }

func keyWindowKey(id, window string) map[string]types.AttributeValue {
	return key("k#"+part(id), "w#"+part(window))
}

func keySpendKey(id, period string) map[string]types.AttributeValue {
	return key("k#"+part(id), "p#"+part(period))
}

// Create claims the hash with a conditional PutItem, then the id with
// another; when the id is taken, it gives the hash back. A replica that
// dies in between leaves a hash naming a key that is not there (or
// another key), which Lookup reads as no key: secrets are random, so the
// hash is never asked for again.
func (s *KeyStore) Create(ctx context.Context, k keys.Key) error {
	doc, err := json.Marshal(k)
	if err != nil {
		return err
	}
	h := keyHashKey(k.Hash)
	h["id"] = str(k.ID)
	_, err = s.db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.db.table, Item: h,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if conditionFailed(err) {
		return keys.ErrExists
	}
	if err != nil {
		return fmt.Errorf("creating key: %w", err)
	}
	rec := keyRecordKey(k.ID)
	rec["doc"] = str(string(doc))
	_, err = s.db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.db.table, Item: rec,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if err == nil {
		return nil
	}
	taken := conditionFailed(err)
	_, derr := s.db.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.db.table, Key: keyHashKey(k.Hash),
		ConditionExpression:       aws.String("id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(k.ID)}})
	if derr != nil && !conditionFailed(derr) {
		s.db.log.Debug("dynamodb: giving back the hash of a key not created", "err", derr)
	}
	if taken {
		return keys.ErrExists
	}
	return fmt.Errorf("creating key: %w", err)
}

// decodeKeyRecord returns the key of a record item.
func decodeKeyRecord(it map[string]types.AttributeValue) (keys.Key, error) {
	var k keys.Key
	if err := json.Unmarshal([]byte(getS(it, "doc")), &k); err != nil {
		return keys.Key{}, fmt.Errorf("decoding key: %w", err)
	}
	if r := getS(it, "revoked"); r != "" {
		t, err := time.Parse(time.RFC3339Nano, r)
		if err != nil {
			return keys.Key{}, fmt.Errorf("decoding revocation of key %s: %w", k.ID, err)
		}
		k.Revoked = t
	}
	return k, nil
}

// Lookup reads the hash's item, then the key's, both strongly consistent.
func (s *KeyStore) Lookup(ctx context.Context, hash string) (keys.Key, error) {
	out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: keyHashKey(hash), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return keys.Key{}, fmt.Errorf("looking up key: %w", err)
	}
	id := getS(out.Item, "id")
	if id == "" {
		return keys.Key{}, keys.ErrNotFound
	}
	out, err = s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: keyRecordKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return keys.Key{}, fmt.Errorf("looking up key: %w", err)
	}
	if len(out.Item) == 0 {
		return keys.Key{}, keys.ErrNotFound
	}
	k, err := decodeKeyRecord(out.Item)
	if err != nil {
		return keys.Key{}, err
	}
	if k.Hash != hash {
		// The hash of a Create that failed half-way.
		return keys.Key{}, keys.ErrNotFound
	}
	return k, nil
}

// List queries the key records' partition.
func (s *KeyStore) List(ctx context.Context) ([]keys.Key, error) {
	var out []keys.Key
	err := s.db.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(keysPK)},
		ConsistentRead:            aws.Bool(true),
	}, func(it map[string]types.AttributeValue) error {
		k, err := decodeKeyRecord(it)
		if err != nil {
			return err
		}
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	slices.SortFunc(out, func(a, b keys.Key) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Revoke sets the record's revocation unless it has one, in one
// conditional UpdateItem.
func (s *KeyStore) Revoke(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.db.table, Key: keyRecordKey(id),
		UpdateExpression:          aws.String("SET revoked = if_not_exists(revoked, :at)"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(at.UTC().Format(time.RFC3339Nano))},
	})
	if conditionFailed(err) {
		return keys.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoking key: %w", err)
	}
	return nil
}

// windowTTL is the ttl attribute of a minute's counts.
func (s *KeyStore) windowTTL(window string) types.AttributeValue {
	start, err := time.Parse(keys.WindowLayout, window)
	if err != nil {
		start = s.now()
	}
	return ttlOf(start.Add(windowKeep))
}

// Admit reads the spend when a has a budget, then counts the request with
// one UpdateItem of the minute's item conditioned on a's rpm and tpm. A
// refused request is counted nowhere; its counts are those the condition
// failed on.
func (s *KeyStore) Admit(ctx context.Context, a keys.Admission) (keys.Verdict, error) {
	var v keys.Verdict
	if a.BudgetNano > 0 {
		spent, err := s.Spent(ctx, a.ID, a.Period)
		if err != nil {
			return keys.Verdict{}, fmt.Errorf("admitting: %w", err)
		}
		v.SpentNano = spent
		if spent >= a.BudgetNano {
			v.Refused = keys.RefusedBudget
			it, err := s.readWindow(ctx, a)
			if err != nil {
				return keys.Verdict{}, err
			}
			v.Requests, v.Tokens = getN(it, "r"), getN(it, "t")
			return v, nil
		}
	}
	vals := map[string]types.AttributeValue{":one": n(1), ":tok": n(a.Tokens), ":ttl": s.windowTTL(a.Window)}
	var conds []string
	if a.RPM > 0 {
		conds = append(conds, "(attribute_not_exists(r) OR r < :rpm)")
		vals[":rpm"] = n(a.RPM)
	}
	if a.TPM > 0 {
		// Admitted when the minute counts no tokens yet, or when they and
		// the request's fit: t <= max(0, tpm - tokens).
		conds = append(conds, "(attribute_not_exists(t) OR t <= :tmax)")
		vals[":tmax"] = n(max(0, a.TPM-a.Tokens))
	}
	in := &dynamodb.UpdateItemInput{
		TableName: s.db.table, Key: keyWindowKey(a.ID, a.Window),
		UpdateExpression:                    aws.String("ADD r :one, t :tok SET #ttl = :ttl"),
		ExpressionAttributeNames:            map[string]string{"#ttl": attrTTL},
		ExpressionAttributeValues:           vals,
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if len(conds) > 0 {
		in.ConditionExpression = aws.String(strings.Join(conds, " AND "))
	}
	out, err := s.db.c.UpdateItem(ctx, in)
	if err == nil {
		v.Requests, v.Tokens = getN(out.Attributes, "r"), getN(out.Attributes, "t")
		return v, nil
	}
	var cf *types.ConditionalCheckFailedException
	if !errors.As(err, &cf) {
		return keys.Verdict{}, fmt.Errorf("admitting: %w", err)
	}
	it := cf.Item
	if len(it) == 0 {
		// A server that does not return the item the condition failed
		// on (dynalite): read the minute as it is now.
		if it, err = s.readWindow(ctx, a); err != nil {
			return keys.Verdict{}, err
		}
	}
	v.Requests, v.Tokens = getN(it, "r"), getN(it, "t")
	v.Refused = keys.RefusedTPM
	if a.RPM > 0 && v.Requests >= a.RPM {
		v.Refused = keys.RefusedRPM
	}
	return v, nil
}

// readWindow returns a's minute item, strongly consistent; nil when the
// minute counts nothing.
func (s *KeyStore) readWindow(ctx context.Context, a keys.Admission) (map[string]types.AttributeValue, error) {
	out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: keyWindowKey(a.ID, a.Window), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("admitting: %w", err)
	}
	return out.Item, nil
}

// Settle adds the tokens to the minute's item and the cost to the
// period's, one UpdateItem ADD each.
func (s *KeyStore) Settle(ctx context.Context, st keys.Settlement) error {
	if st.Tokens != 0 {
		_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: s.db.table, Key: keyWindowKey(st.ID, st.Window),
			UpdateExpression:          aws.String("ADD t :tok SET #ttl = :ttl"),
			ExpressionAttributeNames:  map[string]string{"#ttl": attrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{":tok": n(st.Tokens), ":ttl": s.windowTTL(st.Window)},
		})
		if err != nil {
			return fmt.Errorf("settling: %w", err)
		}
	}
	if st.CostNano != 0 {
		_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: s.db.table, Key: keySpendKey(st.ID, st.Period),
			UpdateExpression:          aws.String("ADD n :c SET #ttl = :ttl"),
			ExpressionAttributeNames:  map[string]string{"#ttl": attrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": n(st.CostNano), ":ttl": ttlOf(s.now().Add(spendKeep))},
		})
		if err != nil {
			return fmt.Errorf("settling: %w", err)
		}
	}
	return nil
}

// Spent reads the period's item, strongly consistent.
func (s *KeyStore) Spent(ctx context.Context, id, period string) (int64, error) {
	out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: keySpendKey(id, period), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, fmt.Errorf("reading spend: %w", err)
	}
	return getN(out.Item, "n"), nil
}
