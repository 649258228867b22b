package pipeline

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var updateSchema = flag.Bool("update-schema", false, "rewrite schema.json from the parser's tables")

// TestSchemaFile keeps the committed schema.json equal to what the parser's
// tables generate; run `go generate ./pipeline` after changing a key.
func TestSchemaFile(t *testing.T) {
	got := generateSchema()
	if *updateSchema {
		if err := os.WriteFile("schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, Schema()) {
		t.Fatal("schema.json is out of date; run `go generate ./pipeline`")
	}
	var doc map[string]any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	props := doc["properties"].(map[string]any)
	job := props["jobs"].(map[string]any)["additionalProperties"].(map[string]any)["properties"].(map[string]any)
	for _, k := range jobKeys {
		if job[k] == nil {
			t.Errorf("schema lacks job key %q", k)
		}
	}
}

// The schema and the parser agree on which keys exist, judged by what the
// parser does (not by the tables the schema is made from): every key the
// schema lists, top level and job, is one the parser takes (whatever it
// then says of its value), and a key the schema lacks is refused as unknown.
func TestSchemaKeysAreThoseTheParserTakes(t *testing.T) {
	var doc struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	var jobs struct {
		AdditionalProperties struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"additionalProperties"`
	}
	if err := json.Unmarshal(doc.Properties["jobs"], &jobs); err != nil {
		t.Fatal(err)
	}
	unknown := func(yml, key string) bool {
		_, err := ParseFile(".lathe.yml", []byte(yml))
		return err != nil && strings.Contains(err.Error(), fmt.Sprintf("unknown key %q", key))
	}
	const job = "jobs:\n  a:\n    steps: [echo]\n"
	if len(doc.Properties) < 5 || len(jobs.AdditionalProperties.Properties) < 10 {
		t.Fatalf("the schema lists %d top-level and %d job keys", len(doc.Properties), len(jobs.AdditionalProperties.Properties))
	}
	for k := range doc.Properties {
		if k != "jobs" && unknown(job+k+": 1\n", k) {
			t.Errorf("the schema lists top-level key %q; the parser calls it unknown", k)
		}
	}
	for k := range jobs.AdditionalProperties.Properties {
		if k != "steps" && unknown(job+"    "+k+": 1\n", k) {
			t.Errorf("the schema lists job key %q; the parser calls it unknown", k)
		}
	}
	for _, k := range []string{"stepz", "image-pull", "timeout_minutes"} {
		if jobs.AdditionalProperties.Properties[k] != nil {
			t.Fatalf("test key %q is in the schema", k)
		}
		if !unknown(job+"    "+k+": 1\n", k) {
			t.Errorf("job key %q, not in the schema, is not refused as unknown", k)
		}
		if !unknown(job+k+": 1\n", k) {
			t.Errorf("top-level key %q, not in the schema, is not refused as unknown", k)
		}
	}
}
