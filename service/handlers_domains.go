package service

import (
	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
)

func (s *Server) toDomain(d *engine.Domain) apitype.Domain {
	out := apitype.Domain{
		Name: d.Name, Installation: d.Installation, Service: d.Service, Port: d.Port, TLS: d.TLS, Login: d.Login,
		URL: "https://" + d.Name + "/", Created: d.Created, Warnings: d.Warnings,
	}
	if s.cfg.DomainStatus != nil {
		out.Certificate = s.cfg.DomainStatus(d.Name)
	}
	return out
}

// listDomains answers the routed domains: {"domains":[...]}.
func (s *Server) listDomains(c *fiber.Ctx) error {
	list, err := s.eng.Domains(c.UserContext())
	if err != nil {
		return err
	}
	out := apitype.DomainList{Domains: make([]apitype.Domain, 0, len(list))}
	for _, d := range list {
		out.Domains = append(out.Domains, s.toDomain(d))
	}
	return c.JSON(out)
}

// addDomain routes a domain to an app: body DomainRequest; 201 with the
// domain. The proxy picks it up and gets its certificate in the
// background.
func (s *Server) addDomain(c *fiber.Ctx) error {
	var req apitype.DomainRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.eng.AddDomain(c.UserContext(), engine.DomainOptions{App: req.App, Domain: req.Domain, Service: req.Service, Port: req.Port, TLS: req.TLS, Login: req.Login})
	if err != nil {
		return err
	}
	if s.cfg.ProxyCheck != nil {
		d.Warnings = append(s.cfg.ProxyCheck(), d.Warnings...)
	}
	s.audit(c, "domain-add", d.Name, "")
	return c.Status(fiber.StatusCreated).JSON(s.toDomain(d))
}

// removeDomain stops routing a domain; its certificate is deleted.
func (s *Server) removeDomain(c *fiber.Ctx) error {
	name := c.Params("domain")
	if err := s.eng.RemoveDomain(c.UserContext(), name); err != nil {
		return err
	}
	s.audit(c, "domain-remove", name, "")
	return c.SendStatus(fiber.StatusNoContent)
}
