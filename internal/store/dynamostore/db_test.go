package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/testenv"
)

// openDB opens a table of the test server that no other test uses, and
// drops it at the end.
func openDB(t testing.TB) *DB {
	t.Helper()
	o, err := ParseURL(testenv.DynamoDBURL(t))
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	o.Table += "-" + hex.EncodeToString(suffix)
	return openTable(t, o)
}

// openTable opens o's table (a second replica of a test's first) and
// drops it at the end.
func openTable(t testing.TB, o Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.DeleteTable(context.Background()) })
	return db
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Options
		wantErr string
	}{
		{url: "dynamodb://cato?region=eu-west-1", want: Options{Table: "cato", Region: "eu-west-1"}},
		{url: "dynamodb://cato-test?region=us-east-1&endpoint=http://127.0.0.1:8000", want: Options{Table: "cato-test", Region: "us-east-1", Endpoint: "http://127.0.0.1:8000"}},
		{url: "dynamodb://my.table_1", want: Options{Table: "my.table_1"}},
		{url: "dynamodb://ab", wantErr: "table name"},
		{url: "dynamodb://a:b@cato", wantErr: "want dynamodb://TABLE"},
		{url: "dynamodb://cato/x", wantErr: "want dynamodb://TABLE"},
		{url: "dynamodb://cato?regoin=x", wantErr: `unknown parameter "regoin"`},
		{url: "dynamodb://cato?region=a&region=b", wantErr: "given 2 times"},
		{url: "dynamodb://cato?region=", wantErr: "region is empty"},
		{url: "dynamodb://cato?endpoint=localhost:8000", wantErr: "endpoint"},
		{url: "redis://cato", wantErr: "not dynamodb"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseURL error = %v; want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseURL = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestOpenRace opens one missing table from two replicas at once: both
// end up on the same active table.
func TestOpenRace(t *testing.T) {
	o, err := ParseURL(testenv.DynamoDBURL(t))
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	o.Table += "-race-" + hex.EncodeToString(suffix)
	errs := make(chan error, 2)
	dbs := make(chan *DB, 2)
	for range 2 {
		go func() {
			db, err := Open(context.Background(), o, nil)
			errs <- err
			dbs <- db
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
		if db := <-dbs; db != nil {
			t.Cleanup(func() { db.DeleteTable(context.Background()) })
			if err := db.Ping(context.Background()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		}
	}
}

// endpointOf returns the endpoint of the test server.
func endpointOf(t testing.TB) string {
	t.Helper()
	o, err := ParseURL(testenv.DynamoDBURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return o.Endpoint
}

// TestOpenRefusesForeignTable: a table with another key is not used.
func TestOpenRefusesForeignTable(t *testing.T) {
	db := openDB(t)
	name := db.Table() + "-foreign"
	_, err := db.c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	_, err = Open(context.Background(), Options{Table: name, Region: "us-east-1", Endpoint: endpointOf(t)}, nil)
	if err == nil || !strings.Contains(err.Error(), "not a table Cato created") {
		t.Errorf("Open of a table keyed by id = %v; want it refused", err)
	}
}
