package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// FuzzReadLogin feeds arbitrary bodies and content types to the login body
// parser: it must never panic, and whatever it accepts is two non-empty
// plain strings with a password grant (or none).
func FuzzReadLogin(f *testing.F) {
	form, jsonCT := "application/x-www-form-urlencoded", "application/json"
	for _, seed := range []struct{ ct, body string }{
		{form, "username=a%40b.org&password=secret-secret-1"},
		{form, "grant_type=password&username=a%40b.org&password=x"},
		{form, "username[$ne]=x&password=y"},
		{form, "username=a&username=b&password=c"},
		{form, "%zz"},
		{jsonCT, `{"username":"a@b.org","password":"x"}`},
		{jsonCT, `{"username":{"$ne":null},"password":"x"}`},
		{jsonCT, `{"username":"a","password":"b"} {"x":1}`},
		{jsonCT, `[]`},
		{"text/plain", "hello"},
		{"application/json; charset=utf-8", `{"username":"\u0000","password":"\ud800"}`},
	} {
		f.Add(seed.ct, seed.body)
	}
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		req := httptest.NewRequest(http.MethodPost, "/api/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Body = http.MaxBytesReader(c.Writer, req.Body, loginBodyLimit)
		c.Request = req
		in, err := readLogin(c)
		if err != nil {
			return
		}
		if in.Username == "" || in.Password == "" || (in.GrantType != "" && in.GrantType != "password") {
			t.Fatalf("accepted an incomplete login: %+v", in)
		}
	})
}
