package openai

import (
	"encoding/json"
	"unicode/utf8"
)

// eachMember calls fn with the key and value of each member of the JSON
// object obj, in order, without decoding the values and, but for keys
// that need unquoting, without allocating. obj must be valid
// JSON (callers have decoded it with encoding/json first); a key with
// escapes or invalid UTF-8 is unquoted by encoding/json, as a map decode
// would. The key and value slices may alias obj. It reports false when
// obj is not an object.
func eachMember(obj []byte, fn func(key, val []byte)) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case '}':
			return true
		case ',':
			i++
			continue
		case '"':
		default:
			return false
		}
		end, escaped := stringEnd(obj, i)
		key := obj[i+1 : end-1]
		if escaped || !utf8.Valid(key) {
			var k string
			if json.Unmarshal(obj[i:end], &k) != nil {
				return false
			}
			key = []byte(k)
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		vend := valueEnd(obj, i)
		if vend <= i {
			return false
		}
		fn(key, obj[i:vend])
		i = vend
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] (a
// quote), and whether it holds an escape.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return len(b), escaped
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, _ := stringEnd(b, i)
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// eachElement calls fn with each element of the JSON array arr, in order,
// without decoding them; the slices alias arr. arr must be valid JSON, as
// for eachMember. It reports false when arr is not an array.
func eachElement(arr []byte, fn func(val []byte)) bool {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i++
	for {
		i = skipSpace(arr, i)
		if i >= len(arr) {
			return false
		}
		switch arr[i] {
		case ']':
			return true
		case ',':
			i++
			continue
		}
		end := valueEnd(arr, i)
		if end <= i {
			return false
		}
		fn(arr[i:end])
		i = end
	}
}
