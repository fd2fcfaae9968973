package service

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
)

// Failure kinds of the service itself, beside the engine's sentinels.
var (
	errUnauthenticated = errors.New("unauthenticated")
	errForbidden       = errors.New("forbidden")
	errRateLimited     = errors.New("rate limited")
)

// apiError is a failure whose text the service knows in both languages.
// Handlers return it; handleError renders it. kind is a sentinel (an
// engine.Err* or one of the service's) that decides the HTTP status; nil
// means 500.
type apiError struct {
	kind     error
	msg      text
	msgArgs  []any
	hint     text
	hintArgs []any
	cause    error
	// data goes into the envelope of the product document's endpoints.
	data any
}

func (e *apiError) Error() string {
	msg := e.msg.in(langEN, e.msgArgs...)
	if e.cause != nil {
		return msg + ": " + e.cause.Error()
	}
	return msg
}

func (e *apiError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// envelope is the product document's response shape.
type envelope struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

// errorBody is the REST API's error shape.
type errorBody struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

// statusOf maps an error to its HTTP status with errors.Is on the
// sentinels; anything unclassified is 500.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.kind == nil {
			return fiber.StatusInternalServerError
		}
		err = ae.kind
	}
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		return fe.Code
	case errors.Is(err, errUnauthenticated):
		return fiber.StatusUnauthorized
	case errors.Is(err, errForbidden), errors.Is(err, engine.ErrForbidden):
		return fiber.StatusForbidden
	case errors.Is(err, errRateLimited):
		return fiber.StatusTooManyRequests
	case errors.Is(err, engine.ErrInvalid):
		return fiber.StatusBadRequest
	case errors.Is(err, engine.ErrNotFound):
		return fiber.StatusNotFound
	case errors.Is(err, engine.ErrConflict):
		return fiber.StatusConflict
	case errors.Is(err, engine.ErrUnavailable):
		return fiber.StatusServiceUnavailable
	case errors.Is(err, engine.ErrActionFailed):
		// The bundle (StackHub's upstream here) reported a failure.
		return fiber.StatusBadGateway
	case errors.Is(err, context.DeadlineExceeded):
		return fiber.StatusGatewayTimeout
	}
	return fiber.StatusInternalServerError
}

// handleError is the service's only error mapper (fiber's ErrorHandler).
// The product document's endpoints get the envelope with code "0"; every
// other route gets {"error","hint"}. 5xx are logged with the request id;
// their cause never reaches the client.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status := statusOf(err)
	rid := requestIDOf(c)
	if status >= fiber.StatusInternalServerError {
		s.log.Error("request failed", "requestId", rid, "method", c.Method(), "path", c.Path(),
			"status", status, "err", err)
	}
	prd := isPRD(c.Path())
	l := langOf(c, s.apiLang())
	if prd {
		l = langOf(c, langZH)
	}
	msg, hint, data := s.describe(c, err, status, l, rid)
	if status == fiber.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="stackhub"`)
	}
	c.Status(status)
	if prd {
		if data == nil {
			data = fiber.Map{}
		}
		return c.JSON(envelope{Code: "0", Message: sentence(l, msg, hint), Data: data})
	}
	return c.JSON(errorBody{Error: msg, Hint: hint})
}

// describe returns the human message, hint and envelope data for err.
func (s *Server) describe(c *fiber.Ctx, err error, status int, l lang, rid string) (msg, hint string, data any) {
	internal := status >= fiber.StatusInternalServerError && status != fiber.StatusServiceUnavailable &&
		status != fiber.StatusGatewayTimeout && status != fiber.StatusBadGateway
	var ae *apiError
	if errors.As(err, &ae) {
		msg = ae.msg.in(l, ae.msgArgs...)
		hint = ae.hint.in(l, ae.hintArgs...)
		if internal && hint == "" {
			hint = hintInternal.in(l, rid)
		}
		return msg, hint, ae.data
	}
	var fe *fiber.Error
	switch {
	case status == fiber.StatusGatewayTimeout:
		return errTextTimeout.in(l), hintTimeout.in(l), nil
	case internal:
		return errTextInternalBare.in(l), hintInternal.in(l, rid), nil
	case errors.As(err, &fe):
		switch fe.Code {
		case fiber.StatusRequestEntityTooLarge:
			return errTextTooLarge.in(l, s.cfg.BodyLimit), hintTooLarge.in(l), nil
		case fiber.StatusNotFound:
			return errTextNotFoundPath.in(l, c.Method(), c.Path()), hintNotFoundPath.in(l), nil
		}
		return fe.Message, "", nil
	}
	// An engine error: its text is English, and made to be shown.
	msg = err.Error()
	hint = engine.HintOf(err)
	if l == langZH {
		return "请求失败：" + msg, hint, fiber.Map{"info": msg}
	}
	return strings.TrimSuffix(msg, "."), hint, fiber.Map{"info": msg}
}
