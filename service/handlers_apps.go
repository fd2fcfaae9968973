package service

import (
	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/service/apitype"
)

// The catalog under /api/v1/apps. title and description stay strings (in
// the language ?lang= or Accept-Language asks for, English by default), as
// clients of the first API read them; titles and descriptions carry both
// languages.

// catalogLang is the language of an app's title and description strings:
// ?lang=en|zh, else Accept-Language, else English.
func catalogLang(c *fiber.Ctx) string {
	switch c.Query("lang") {
	case "zh":
		return "zh"
	case "en":
		return "en"
	}
	if langOf(c, langEN) == langZH {
		return "zh"
	}
	return "en"
}

func toAppDTO(e catalog.Entry, lang string) apitype.App {
	d := apitype.App{Name: e.Name, Title: e.Title.In(lang), Version: e.Version, Description: e.Description.In(lang),
		Category: e.Category, Ports: make([]apitype.Port, 0, len(e.Ports)),
		Titles: apitype.Text(e.Title), Descriptions: apitype.Text(e.Description), Keywords: e.Keywords,
		AppVersion: e.AppVersion, Homepage: e.Homepage, Requirements: apitype.Requirements(e.Requirements),
		Architectures: e.Architectures, Source: e.Source}
	if d.Keywords == nil {
		d.Keywords = []string{}
	}
	if d.Architectures == nil {
		d.Architectures = []string{}
	}
	if e.Icon != "" {
		d.Icon = "/api/v1/apps/" + e.Name + "/icon"
	}
	for _, p := range e.Ports {
		d.Ports = append(d.Ports, apitype.Port{Name: p.Name, Service: p.Service, Target: p.Target, Protocol: p.Protocol, HostIP: p.HostIP})
	}
	return d
}

// listApps answers a page of the catalog: ?q= words to find (title,
// description, keywords; both languages; case-insensitive), ?category=,
// ?page= (from 1), ?per_page= (default 50, at most 200), ?sort=name|title|category.
func (s *Server) listApps(c *fiber.Ctx) error {
	page, err := queryInt(c, "page", 0)
	if err != nil {
		return err
	}
	perPage, err := queryInt(c, "per_page", 0)
	if err != nil {
		return err
	}
	res, err := s.eng.SearchApps(c.UserContext(), catalog.Query{Q: c.Query("q"), Category: c.Query("category"),
		Sort: c.Query("sort"), Page: page, PerPage: perPage})
	if err != nil {
		return err
	}
	lang := catalogLang(c)
	out := apitype.AppList{Apps: make([]apitype.App, 0, len(res.Entries)), Total: res.Total, Page: res.Page, PerPage: res.PerPage,
		Categories: make([]apitype.CategoryCount, 0, len(res.Categories))}
	for _, e := range res.Entries {
		out.Apps = append(out.Apps, toAppDTO(e, lang))
	}
	for _, cc := range res.Categories {
		out.Categories = append(out.Categories, apitype.CategoryCount(cc))
	}
	return c.JSON(out)
}

// getApp answers one app's details: its catalog entry plus the parameter
// schema an install form is built from, its outputs and its README.
// ?source= picks one of several sources offering the name.
func (s *Server) getApp(c *fiber.Ctx) error {
	d, err := s.eng.AppDetail(c.UserContext(), c.Params("name"), c.Query("source"))
	if err != nil {
		return err
	}
	out := apitype.AppDetail{App: toAppDTO(d.Entry, catalogLang(c)), Parameters: make([]apitype.AppParameter, 0, len(d.Parameters)),
		Outputs: make([]apitype.AppOutput, 0, len(d.Outputs)), Readme: d.Readme, Sources: d.Sources,
		Permissions: toPermissionsDTO(d.Permissions)}
	lang := catalogLang(c)
	for _, p := range d.Parameters {
		out.Parameters = append(out.Parameters, apitype.AppParameter{Name: p.Name, Type: p.Type, Description: p.Descriptions.In(lang),
			Descriptions: apitype.Text(p.Descriptions), Default: p.Default, Enum: p.Enum, Minimum: p.Minimum, Maximum: p.Maximum,
			MinLength: p.MinLength, MaxLength: p.MaxLength, Pattern: p.Pattern, Sensitive: p.Sensitive, Generated: p.Generated,
			Required: p.Required, ApplyTo: p.ApplyTo})
	}
	for _, o := range d.Outputs {
		out.Outputs = append(out.Outputs, apitype.AppOutput{Name: o.Name, Description: o.Descriptions.In(lang),
			Descriptions: apitype.Text(o.Descriptions), Sensitive: o.Sensitive})
	}
	return c.JSON(out)
}

// appIcon serves an app's SVG icon with an ETag; an SVG could carry
// script, so it is sandboxed by its own Content-Security-Policy.
func (s *Server) appIcon(c *fiber.Ctx) error {
	icon, err := s.eng.AppIcon(c.UserContext(), c.Params("name"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, icon.ETag)
	// Private: the icon needs a login, so shared caches must not keep it.
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if c.Get(fiber.HeaderIfNoneMatch) == icon.ETag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, icon.ContentType)
	return c.Send(icon.Data)
}

type preflightRequest struct {
	Name       string            `json:"name"`
	Parameters map[string]string `json:"parameters"`
}

// preflightApp answers what installing the app would run into (name,
// CPU, memory, disk, architecture, ports) without installing: 200 with
// "ok": false when an install would be refused. Body (optional):
// {"name","parameters"}, as for an install.
func (s *Server) preflightApp(c *fiber.Ctx) error {
	var req preflightRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	r, err := s.eng.Preflight(c.UserContext(), engine.InstallOptions{App: c.Params("name"), Name: req.Name, Parameters: req.Parameters})
	if err != nil {
		return err
	}
	out := apitype.PreflightReport{App: r.App, Name: r.Name, OK: r.OK, Checks: make([]apitype.PreflightCheck, 0, len(r.Checks)), Ports: r.Ports}
	if out.Ports == nil {
		out.Ports = map[string]int{}
	}
	for _, ch := range r.Checks {
		out.Checks = append(out.Checks, apitype.PreflightCheck{Check: ch.Check, Status: ch.Status, Message: ch.Message, Hint: ch.Hint})
	}
	return c.JSON(out)
}

func toSourceList(list []engine.CatalogSource) apitype.CatalogSourceList {
	out := apitype.CatalogSourceList{Sources: make([]apitype.CatalogSource, 0, len(list))}
	for _, s := range list {
		out.Sources = append(out.Sources, apitype.CatalogSource(s))
	}
	return out
}

// listSources answers the catalog's sources: {"sources":[...]}.
func (s *Server) listSources(c *fiber.Ctx) error {
	list, err := s.eng.CatalogSources(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(toSourceList(list))
}

type addSourceRequest struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// addSource adds a folder on the server as a catalog source: body
// {"name","path"}; 201 with the source. Admins only: it reads any folder
// the server can read.
func (s *Server) addSource(c *fiber.Ctx) error {
	var req addSourceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	src, err := s.eng.AddCatalogSource(c.UserContext(), req.Name, req.Path)
	if err != nil {
		return err
	}
	s.audit(c, "catalog-add", src.Name, "")
	return c.Status(fiber.StatusCreated).JSON(apitype.CatalogSource(*src))
}

// removeSource forgets an added source; its folder is kept.
func (s *Server) removeSource(c *fiber.Ctx) error {
	name := c.Params("name")
	if err := s.eng.RemoveCatalogSource(c.UserContext(), name); err != nil {
		return err
	}
	s.audit(c, "catalog-remove", name, "")
	return c.SendStatus(fiber.StatusNoContent)
}

// refreshCatalog reads every source again: {"sources":[...]}.
func (s *Server) refreshCatalog(c *fiber.Ctx) error {
	list, err := s.eng.RefreshCatalog(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(toSourceList(list))
}
