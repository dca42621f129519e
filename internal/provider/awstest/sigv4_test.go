package awstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestVerifySigV4(t *testing.T) {
	body := []byte(`{"a":1}`)
	sign := func(service, region string, key aws.Credentials) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://bedrock.test/model/m%3A0/converse", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), key, r, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	good := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
	tests := []struct {
		name    string
		req     *http.Request
		tamper  func(*http.Request)
		wantErr string
	}{
		{name: "valid", req: sign("bedrock", "us-west-2", good)},
		{name: "wrong service", req: sign("sagemaker", "us-west-2", good), wantErr: "service sagemaker"},
		{name: "wrong region", req: sign("bedrock", "eu-west-1", good), wantErr: "region eu-west-1"},
		{name: "wrong secret", req: sign("bedrock", "us-west-2", aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: "x"}), wantErr: "signature mismatch"},
		{name: "unsigned", req: httptest.NewRequest(http.MethodPost, "http://x/", nil), wantErr: "no Authorization"},
		{name: "header changed after signing", req: sign("bedrock", "us-west-2", good),
			tamper: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, wantErr: "signature mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tamper != nil {
				tt.tamper(tt.req)
			}
			got, err := VerifySigV4(tt.req, "bedrock", "us-west-2")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("VerifySigV4 = %v; want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("VerifySigV4 = %v; want an error mentioning %q", err, tt.wantErr)
			}
			if tt.req.Header.Get("Authorization") != "" && !bytes.Equal(got, body) {
				t.Errorf("VerifySigV4 body = %q; want %q", got, body)
			}
		})
	}
}
