package client

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTypesAgreeWithOpenAPI checks that every field the client reads is
// one the OpenAPI document (service/openapi.json, what the handlers answer
// with, by service's own test) declares: the client's types are views of
// the same payloads, and a renamed field shows here.
func TestTypesAgreeWithOpenAPI(t *testing.T) {
	raw, err := os.ReadFile("../openapi.json")
	require.NoError(t, err)
	type schemaDoc struct {
		Properties map[string]json.RawMessage `json:"properties"`
		AllOf      []struct {
			Ref        string                     `json:"$ref"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"allOf"`
	}
	var doc struct {
		Components struct {
			Schemas map[string]schemaDoc `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	var propsOf func(name string) map[string]bool
	propsOf = func(name string) map[string]bool {
		s := doc.Components.Schemas[name]
		out := map[string]bool{}
		for k := range s.Properties {
			out[k] = true
		}
		for _, part := range s.AllOf {
			if part.Ref != "" {
				for k := range propsOf(strings.TrimPrefix(part.Ref, "#/components/schemas/")) {
					out[k] = true
				}
			}
			for k := range part.Properties {
				out[k] = true
			}
		}
		return out
	}
	for schema, v := range map[string]any{
		"App":             App{},
		"AppDetail":       AppDetail{},
		"Permissions":     Permissions{},
		"Installation":    Installation{},
		"Job":             Job{},
		"JobEvent":        JobEvent{},
		"Server":          Server{},
		"PreflightReport": PreflightReport{},
		"CatalogSource":   CatalogSource{},
		"User":            User{},
		"Upload":          Upload{},
	} {
		props := propsOf(schema)
		require.NotEmpty(t, props, "schema %s", schema)
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || f.Anonymous {
				continue
			}
			assert.True(t, props[name], "client.%s.%s reads %q, which schema %s does not declare", typ.Name(), f.Name, name, schema)
		}
	}
}
