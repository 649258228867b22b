package api

import (
	"net/url"
	"reflect"
	"testing"
)

// queryPairs reads a query as url.ParseQuery does: the same names, with the
// same values in the same order, malformed pairs left out alike.
func TestQueryPairsReadsAsParseQuery(t *testing.T) {
	for _, raw := range []string{
		"", "wait=25", "wait=25&wait=3", "a=1&b=2&a=3", "&&a=&=x&b", "a%20b=c+d&e=%zz&%zz=f",
		"a=1;b=2&c=3", "x=%E2%9C%93&y=+", "limit=50&before=7&status=failed,success",
	} {
		checkQueryPairs(t, raw)
	}
}

func FuzzQueryPairs(f *testing.F) {
	f.Add("wait=25&a=%20&b;c=d&=e&&f")
	f.Fuzz(checkQueryPairs)
}

func checkQueryPairs(t *testing.T, raw string) {
	want, _ := url.ParseQuery(raw)
	got := url.Values{}
	queryPairs(raw, func(name, value string) bool {
		got[name] = append(got[name], value)
		return true
	})
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("queryPairs(%q) = %v, url.ParseQuery %v", raw, got, want)
	}
}
