package service

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDoc describes the REST API; a test checks it against the route
// table.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the OpenAPI 3 document.
func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPIDoc)
}
