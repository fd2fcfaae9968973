// Package schema embeds the JSON schema (draft-07) of the stackhub mixin's
// steps, in the shape Porter expects from a mixin's schema command:
// definitions installStep, upgradeStep, uninstallStep and invokeStep, only
// relative "#/" references, no $id. It imports only embed.
package schema

import _ "embed"

// JSON is the schema document.
//
//go:embed schema.json
var JSON []byte
