package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/accounts"
	"github.com/stackhub/stackhub/service/apitype"
)

// Roles, from most to least powerful: admins manage users and settings;
// operators install, upgrade, uninstall and run actions; viewers read.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

var roleRank = map[string]int{RoleViewer: 1, RoleOperator: 2, RoleAdmin: 3}

// settingRegistration is "open" when anyone may register (as a viewer).
const settingRegistration = "registration"

// Accounts keeps roles and settings; *sqlite.Store implements it. With a
// Users that does not, every user is an admin and registration is closed.
type Accounts interface {
	CreateUserWithRole(ctx context.Context, username, passwordHash, role string) error
	UserRole(ctx context.Context, username string) (string, error)
	ListUsers(ctx context.Context) ([]accounts.User, error)
	SetRole(ctx context.Context, username, role string) error
	DeleteUser(ctx context.Context, username string) error
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

var (
	errTextRole        = text{"需要%s角色，当前用户%s的角色是%s", "this needs the %s role; %s is %s"}
	hintRole           = text{"请管理员提升您的角色", "ask an admin to give you that role"}
	errTextBadRole     = text{"角色%q不存在", "role %q does not exist"}
	hintBadRole        = text{"可选角色：admin、operator、viewer", "use admin, operator or viewer"}
	errTextWeakPass    = text{"密码至少需要12个字符", "the password needs at least 12 characters"}
	hintWeakPass       = text{"请选择更长的密码", "choose a longer password"}
	errTextRegClosed   = text{"未开放注册", "registration is closed"}
	hintRegClosed      = text{"请管理员为您创建账户，或开放注册", "ask an admin to create your account, or to open registration"}
	errTextSelf        = text{"不能删除或降级自己或初始管理员", "you cannot delete or demote yourself or the first admin"}
	hintSelf           = text{"请用另一个管理员账户操作", "do it from another admin account"}
	errTextBadSetting  = text{"设置%s的值%q不合法", "setting %s cannot be %q"}
	hintBadRegistraion = text{"可选值：open、closed", "use open or closed"}
)

// authorize checks the caller's role against the route's minimum.
func (s *Server) authorize(c *fiber.Ctx, r route) error {
	need := r.role
	if need == "" {
		need = RoleViewer
		if r.mutates || !(r.method == fiber.MethodGet || r.method == fiber.MethodHead) {
			need = RoleOperator
		}
	}
	role := s.roleOf(c)
	if roleRank[role] >= roleRank[need] {
		return nil
	}
	user, _ := c.Locals(localUser).(string)
	return &apiError{kind: errForbidden, msg: errTextRole, msgArgs: []any{need, user, role}, hint: hintRole}
}

// roleOf returns the caller's role (cached in Locals).
func (s *Server) roleOf(c *fiber.Ctx) string {
	if r, ok := c.Locals(localRole).(string); ok {
		return r
	}
	user, _ := c.Locals(localUser).(string)
	role := RoleAdmin
	if a, ok := s.users.(Accounts); ok && !(user == adminUser && c.Locals(localBootstrap) == true) {
		r, err := a.UserRole(c.UserContext(), user)
		switch {
		case err == nil:
			role = r
		default:
			role = "" // unknown user: no rights
		}
	}
	c.Locals(localRole, role)
	return role
}

func (s *Server) accounts() (Accounts, error) {
	a, ok := s.users.(Accounts)
	if !ok {
		return nil, engine.NewUserError(engine.ErrUnavailable, "this store keeps no accounts", "")
	}
	return a, nil
}

type userRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

func checkRole(role string) error {
	if _, ok := roleRank[role]; !ok {
		return &apiError{kind: engine.ErrInvalid, msg: errTextBadRole, msgArgs: []any{shorten(role)}, hint: hintBadRole}
	}
	return nil
}

func checkNewUser(req *userRequest) error {
	if err := engine.ValidateName("username", req.Username); err != nil {
		return err
	}
	if len(req.Password) < 12 {
		return &apiError{kind: engine.ErrInvalid, msg: errTextWeakPass, hint: hintWeakPass}
	}
	return checkRole(req.Role)
}

// listUsers answers {"users":[...]} (admin).
func (s *Server) listUsers(c *fiber.Ctx) error {
	a, err := s.accounts()
	if err != nil {
		return err
	}
	list, err := a.ListUsers(c.UserContext())
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	out := make([]apitype.User, 0, len(list))
	for _, u := range list {
		out = append(out, apitype.User{Username: u.Username, Role: u.Role, Created: u.Created.UTC()})
	}
	return c.JSON(fiber.Map{"users": out})
}

// createUser adds a user (admin): {"username","password","role"}; role
// defaults to viewer.
func (s *Server) createUser(c *fiber.Ctx) error {
	var req userRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = RoleViewer
	}
	return s.addUser(c, &req, "create user")
}

func (s *Server) addUser(c *fiber.Ctx, req *userRequest, action string) error {
	if err := checkNewUser(req); err != nil {
		return err
	}
	a, err := s.accounts()
	if err != nil {
		return err
	}
	hash, err := HashPassword(req.Password)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if err := a.CreateUserWithRole(c.UserContext(), req.Username, hash, req.Role); err != nil {
		return fmt.Errorf("%s %q: %w", action, req.Username, err)
	}
	s.audit(c, action, req.Username+" ("+req.Role+")", "")
	return c.Status(fiber.StatusCreated).JSON(apitype.User{Username: req.Username, Role: req.Role, Created: s.now().UTC()})
}

// register lets anyone create a viewer account when an admin opened
// registration; 403 otherwise. It is public, like login.
func (s *Server) register(c *fiber.Ctx) error {
	a, err := s.accounts()
	if err != nil {
		return err
	}
	v, err := a.Setting(c.UserContext(), settingRegistration)
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("register: %w", err)
	}
	if v != "open" {
		return &apiError{kind: errForbidden, msg: errTextRegClosed, hint: hintRegClosed}
	}
	var req userRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	req.Role = RoleViewer
	c.Locals(localUser, req.Username)
	return s.addUser(c, &req, "register")
}

// updateUser changes a user's role (admin): {"role":"operator"}.
func (s *Server) updateUser(c *fiber.Ctx) error {
	target := c.Params("user")
	if err := engine.ValidateName("username", target); err != nil {
		return err
	}
	var req userRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkRole(req.Role); err != nil {
		return err
	}
	me, _ := c.Locals(localUser).(string)
	if (target == me || target == adminUser) && req.Role != RoleAdmin {
		return &apiError{kind: engine.ErrConflict, msg: errTextSelf, hint: hintSelf}
	}
	a, err := s.accounts()
	if err != nil {
		return err
	}
	if err := a.SetRole(c.UserContext(), target, req.Role); err != nil {
		return fmt.Errorf("set role of %q: %w", target, err)
	}
	s.audit(c, "set role", target+" ("+req.Role+")", "")
	return c.JSON(apitype.User{Username: target, Role: req.Role})
}

// deleteUser removes a user with its sessions and tokens (admin).
func (s *Server) deleteUser(c *fiber.Ctx) error {
	target := c.Params("user")
	if err := engine.ValidateName("username", target); err != nil {
		return err
	}
	me, _ := c.Locals(localUser).(string)
	if target == me || target == adminUser {
		return &apiError{kind: engine.ErrConflict, msg: errTextSelf, hint: hintSelf}
	}
	a, err := s.accounts()
	if err != nil {
		return err
	}
	if err := a.DeleteUser(c.UserContext(), target); err != nil {
		return fmt.Errorf("delete user %q: %w", target, err)
	}
	s.audit(c, "delete user", target, "")
	return c.JSON(fiber.Map{"username": target, "deleted": true})
}

// getSettings answers the service settings (admin).
func (s *Server) getSettings(c *fiber.Ctx) error {
	a, err := s.accounts()
	if err != nil {
		return err
	}
	v, err := a.Setting(c.UserContext(), settingRegistration)
	if errors.Is(err, engine.ErrNotFound) {
		v, err = "closed", nil
	}
	if err != nil {
		return fmt.Errorf("get settings: %w", err)
	}
	l, err := s.setting(c.UserContext(), settingDefaultLang)
	if err != nil {
		return fmt.Errorf("get settings: %w", err)
	}
	lo, hi := s.eng.PortRange()
	return c.JSON(apitype.Settings{Registration: v, DefaultLanguage: l, PortMin: lo, PortMax: hi})
}

// putSettings changes settings (admin): {"registration":"open"|"closed",
// "defaultLanguage":"zh"|"en"|""}; an absent field keeps its value.
func (s *Server) putSettings(c *fiber.Ctx) error {
	var req struct {
		Registration    *string `json:"registration"`
		DefaultLanguage *string `json:"defaultLanguage"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if r := req.Registration; r != nil && *r != "open" && *r != "closed" {
		return &apiError{kind: engine.ErrInvalid, msg: errTextBadSetting, msgArgs: []any{settingRegistration, shorten(*r)}, hint: hintBadRegistraion}
	}
	if req.DefaultLanguage != nil {
		if err := checkLang(*req.DefaultLanguage); err != nil {
			return err
		}
	}
	a, err := s.accounts()
	if err != nil {
		return err
	}
	if r := req.Registration; r != nil {
		if err := a.SetSetting(c.UserContext(), settingRegistration, *r); err != nil {
			return fmt.Errorf("set settings: %w", err)
		}
		s.audit(c, "set registration", *r, "")
	}
	if l := req.DefaultLanguage; l != nil {
		if err := a.SetSetting(c.UserContext(), settingDefaultLang, *l); err != nil {
			return fmt.Errorf("set settings: %w", err)
		}
		s.audit(c, "set default language", *l, "")
	}
	return s.getSettings(c)
}

// listAudit answers the audit log, newest first (admin); ?limit=N (default 100).
func (s *Server) listAudit(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 100)
	if err != nil {
		return err
	}
	a, ok := s.users.(Auditor)
	if !ok {
		return c.JSON(fiber.Map{"entries": []any{}})
	}
	list, err := a.ListAudit(c.UserContext(), limit)
	if err != nil {
		return fmt.Errorf("list audit log: %w", err)
	}
	if list == nil {
		list = []*accounts.AuditEntry{}
	}
	return c.JSON(fiber.Map{"entries": list})
}
