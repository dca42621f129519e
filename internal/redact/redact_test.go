package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"redis password only", "redis://:s3cret@10.0.0.5:6379/0", "redis://:xxxxx@10.0.0.5:6379/0"},
		{"redis user and password", "rediss://cato:s3cret@cache.internal:6380/2", "rediss://cato:xxxxx@cache.internal:6380/2"},
		{"postgres user and password", "postgres://cato:p%40ss@db:5432/cato?sslmode=require", "postgres://cato:xxxxx@db:5432/cato?sslmode=require"},
		{"postgres password parameter", "postgres://db/cato?user=cato&password=s3cret&sslmode=disable", "postgres://db/cato?user=cato&password=xxxxx&sslmode=disable"},
		{"parameter names in any case", "http://h/v1?API-KEY=abc&Token=def", "http://h/v1?API-KEY=xxxxx&Token=xxxxx"},
		{"Azure api-key", "https://x.openai.azure.com/openai?api-version=2024-02-01&api-key=abc", "https://x.openai.azure.com/openai?api-version=2024-02-01&api-key=xxxxx"},
		{"user without password is kept", "postgres://cato@db/cato", "postgres://cato@db/cato"},
		{"no secret", "http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"},
		{"embedded path", "embedded:///var/lib/cato", "embedded:///var/lib/cato"},
		{"empty", "", ""},
		{"@ in a parameter is no user", "redis://h:6379/0?x=a@b", "redis://h:6379/0?x=a@b"},
		{"@ in the password", "postgres://bob:s@cr@t@h/db?q=1", "postgres://bob:xxxxx@h/db?q=1"},
		{"malformed with a password", "postgres://cato:p ss{@db/cato", "postgres://xxxxx@db/cato"},
		{"malformed with a parameter", "redis://h:bad port/0?password=s3cret", "redis://h:bad port/0?password=xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := URL(tt.in)
			if got != tt.want {
				t.Errorf("URL(%q) = %q; want %q", tt.in, got, tt.want)
			}
			for _, secret := range []string{"s3cret", "p%40ss", "p ss", "abc", "def"} {
				if strings.Contains(tt.in, secret) && strings.Contains(got, secret) {
					t.Errorf("URL(%q) = %q still holds %q", tt.in, got, secret)
				}
			}
		})
	}
}
