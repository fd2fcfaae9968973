package service

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/service/apitype"
)

// schemaProps returns the property names of a component schema, following
// allOf.
func schemaProps(t *testing.T, schemas map[string]json.RawMessage, name string) []string {
	t.Helper()
	raw, ok := schemas[name]
	require.True(t, ok, "no schema %s", name)
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
		AllOf      []struct {
			Ref        string                     `json:"$ref"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"allOf"`
	}
	require.NoError(t, json.Unmarshal(raw, &s))
	var out []string
	for k := range s.Properties {
		out = append(out, k)
	}
	for _, part := range s.AllOf {
		if part.Ref != "" {
			out = append(out, schemaProps(t, schemas, strings.TrimPrefix(part.Ref, "#/components/schemas/"))...)
		}
		for k := range part.Properties {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// jsonFields returns the JSON names of a struct's fields, embedded ones
// included.
func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && tag == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPISchemasMatchTypes checks that the Go types the handlers answer
// with and the OpenAPI document's schemas name the same fields, so that
// neither drifts from the other.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	var doc openAPIDocument
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	schemas := doc.Components["schemas"]
	for schema, v := range map[string]any{
		"Installation":      apitype.Installation{},
		"Job":               apitype.Job{},
		"Disk":              apitype.Disk{},
		"Risk":              apitype.Risk{},
		"Server":            apitype.Server{},
		"App":               apitype.App{},
		"CategoryCount":     apitype.CategoryCount{},
		"AppList":           apitype.AppList{},
		"AppParameter":      apitype.AppParameter{},
		"AppOutput":         apitype.AppOutput{},
		"AppDetail":         apitype.AppDetail{},
		"PreflightCheck":    apitype.PreflightCheck{},
		"PreflightReport":   apitype.PreflightReport{},
		"CatalogSource":     apitype.CatalogSource{},
		"CatalogSourceList": apitype.CatalogSourceList{},
		"Domain":            apitype.Domain{},
		"DomainList":        apitype.DomainList{},
		"DomainRequest":     apitype.DomainRequest{},
		"Upload":            apitype.Upload{},
		"Output":            apitype.Output{},
		"Me":                apitype.Me{},
		"JobEvent":          apitype.JobEvent{},
		"User":              apitype.User{},
		"Settings":          apitype.Settings{},
		"Permissions":       apitype.Permissions{},
		"Port":              apitype.Port{},
		"Text":              apitype.Text{},
		"Requirements":      apitype.Requirements{},
		"Node":              apitype.Node{},
		"NodeList":          apitype.NodeList{},
		"JoinCommand":       apitype.JoinCommand{},
		"SwarmService":      apitype.SwarmService{},
		"Backup":            apitype.Backup{},
		"BackupList":        apitype.BackupList{},
		"BackupMount":       apitype.BackupMount{},
		"BackupDetail":      apitype.BackupDetail{},
		"RestoreRequest":    apitype.RestoreRequest{},
		"PruneRequest":      apitype.PruneRequest{},
		"PruneResult":       apitype.PruneResult{},
	} {
		t.Run(schema, func(t *testing.T) {
			assert.Equal(t, schemaProps(t, schemas, schema), jsonFields(reflect.TypeOf(v)))
		})
	}
	// The comparison tells types apart.
	assert.NotEqual(t, schemaProps(t, schemas, "Job"), jsonFields(reflect.TypeOf(apitype.Disk{})))
}
