package pipeline

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
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
