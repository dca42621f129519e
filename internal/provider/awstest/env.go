package awstest

import (
	"path/filepath"
	"testing"
)

// Static test credentials that Isolate puts in the environment.
const (
	AccessKeyID     = "AKIDCATOTEST"
	SecretAccessKey = "cato-test-secret"
)

// Isolate points the SDK's default credential chain at AccessKeyID and
// SecretAccessKey, and away from the machine's AWS files, profile, region,
// CA bundle and instance metadata. It uses t.Setenv, so the test cannot be
// parallel.
func Isolate(t testing.TB) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_CA_BUNDLE":               "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
	} {
		t.Setenv(k, v)
	}
}
