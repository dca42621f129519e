package openai

import "encoding/json"

// Error types, as OpenAI names them.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
	TypeUpstream       = "upstream_error"
)

// ErrorBody is OpenAI's error document: {"error": {...}}.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
	// raw, when set, is an upstream's document, written as sent.
	raw []byte
}

// UpstreamError reads an upstream's error document: OpenAI's
// {"error": {...}} with a message. The ErrorBody it returns is written
// exactly as doc was sent, every member included; its Error holds what
// doc says. It reports false for anything else.
func UpstreamError(doc []byte) (ErrorBody, bool) {
	var e struct {
		Error *ErrorObject `json:"error"`
	}
	if json.Unmarshal(doc, &e) != nil || e.Error == nil || e.Error.Message == "" {
		return ErrorBody{}, false
	}
	return ErrorBody{Error: *e.Error, raw: doc}, true
}

type errorBodyAlias ErrorBody

// MarshalJSON writes an upstream's document as sent, else the fields.
func (e ErrorBody) MarshalJSON() ([]byte, error) {
	if e.raw != nil {
		return e.raw, nil
	}
	return json.Marshal(errorBodyAlias(e))
}

// ErrorObject is the inner error object.
type ErrorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// NewError returns an error document.
func NewError(typ, code, param, message string) ErrorBody {
	e := ErrorBody{Error: ErrorObject{Message: message, Type: typ}}
	if code != "" {
		e.Error.Code = &code
	}
	if param != "" {
		e.Error.Param = &param
	}
	return e
}
