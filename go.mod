module github.com/cato-gateway/cato

go 1.26.8

require gopkg.in/yaml.v3 v3.0.1

require (
	github.com/aws/aws-sdk-go-v2 v1.32.0 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.3.19 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.6.19 // indirect
	github.com/aws/aws-sdk-go-v2/service/appconfigdata v1.18.0 // indirect
	github.com/aws/smithy-go v1.22.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/kr/pretty v0.3.1 // indirect
	github.com/rogpeppe/go-internal v1.14.1 // indirect
	gopkg.in/check.v1 v1.0.0-20201130134442-10cb98267c6c // indirect
)
