package api

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"name":"a\u00e9b"}`, true},
		{`{"name":"é😀"}`, true},
		{`{"name":"\ud83d\ude00"}`, true},
		{`{"name":"\\ud800"}`, true}, // a backslash, then text
		{`{"name":"\\\ud83d\ude00\\"}`, true},
		{`{"name":"\"\u0041"}`, true},
		{"{\"name\":\"\xff\"}", false},
		{"{\"name\":\"\xed\xa0\x80\"}", false}, // a surrogate in UTF-8
		{`{"name":"\ud800"}`, false},
		{`{"name":"\udc00"}`, false},
		{`{"name":"\ud800\u0041"}`, false},
		{`{"name":"\ud800\n"}`, false},
		{`{"name":"\\\ud800"}`, false},
		{`{"name":"\uDBFF"}`, false},
	}
	for _, tt := range tests {
		if err := checkText([]byte(tt.body)); (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok %v", tt.body, err, tt.ok)
		}
	}
}

// TestDecodeText: a request that is not UTF-8 is refused, not read with
// U+FFFD in place of its bytes.
func TestDecodeText(t *testing.T) {
	for _, body := range []string{"{\"units\":[{\"name\":\"a\xff.service\"}]}", `{"units":[{"name":"a\udfff.service"}]}`} {
		w := httptest.NewRecorder()
		var req TransientRequest
		if decode(w, httptest.NewRequest("POST", "/v1/transient", strings.NewReader(body)), &req) {
			t.Errorf("%q read as %+v", body, req)
			continue
		}
		var res map[string]string
		if json.Unmarshal(w.Body.Bytes(), &res) != nil || res["error"] != errNotText.Error() {
			t.Errorf("%q: %d %s", body, w.Code, w.Body)
		}
	}
}
