package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
)

var (
	errTextFieldType = text{"字段%s必须是字符串", "field %s must be a string"}
	hintFieldType    = text{`例如 {"%s":"redmine"}`, `for example {"%s":"redmine"}`}
)

// bodyKind is how a request body is encoded.
type bodyKind int

const (
	bodyNone bodyKind = iota
	bodyJSON
	bodyForm
)

// bodyKindOf classifies the request body by Content-Type; an unknown type
// with a body is a 415.
func bodyKindOf(c *fiber.Ctx) (bodyKind, error) {
	body := c.Body()
	ct := c.Get(fiber.HeaderContentType)
	if ct == "" {
		if len(bytes.TrimSpace(body)) == 0 {
			return bodyNone, nil
		}
		return bodyJSON, nil // a bare body is taken as JSON
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = ct
	}
	switch {
	case mt == fiber.MIMEApplicationJSON || strings.HasSuffix(mt, "+json"):
		if len(bytes.TrimSpace(body)) == 0 {
			return bodyNone, nil
		}
		return bodyJSON, nil
	case mt == fiber.MIMEApplicationForm || mt == fiber.MIMEMultipartForm:
		return bodyForm, nil
	case len(body) == 0:
		return bodyNone, nil
	}
	return bodyNone, &apiError{kind: fiber.ErrUnsupportedMediaType, msg: errTextBadType, msgArgs: []any{mt}, hint: hintBadType}
}

// decodeJSON decodes the body, which must hold exactly one JSON value, into v.
func decodeJSON(c *fiber.Ctx, v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			err = errors.New("unexpected data after the JSON value")
		}
	}
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &apiError{kind: engine.ErrInvalid, msg: errTextFieldType, msgArgs: []any{te.Field},
				hint: hintFieldType, hintArgs: []any{te.Field}, cause: err}
		}
		return &apiError{kind: engine.ErrInvalid, msg: errTextBadJSON, msgArgs: []any{jsonReason(err)},
			hint: hintBadJSON, cause: err}
	}
	return nil
}

// jsonReason shortens a decoding error for the message.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "expected an object, got " + te.Value
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// bindStrings reads string fields from a JSON object or form body and,
// when query is set, from the query string for fields the body lacks.
func bindStrings(c *fiber.Ctx, query bool, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	kind, err := bodyKindOf(c)
	if err != nil {
		return nil, err
	}
	switch kind {
	case bodyJSON:
		var fields map[string]json.RawMessage
		if err := decodeJSON(c, &fields); err != nil {
			return nil, err
		}
		for _, n := range names {
			raw, ok := fields[n]
			if !ok || string(raw) == "null" {
				continue
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, &apiError{kind: engine.ErrInvalid, msg: errTextFieldType, msgArgs: []any{n},
					hint: hintFieldType, hintArgs: []any{n}, cause: err}
			}
			out[n] = v
		}
	case bodyForm:
		// Only the body: fasthttp's FormValue would mix in the query string.
		args := c.Request().PostArgs()
		form, _ := c.MultipartForm()
		for _, n := range names {
			if v := string(args.Peek(n)); v != "" {
				out[n] = v
			} else if form != nil && len(form.Value[n]) > 0 && form.Value[n][0] != "" {
				out[n] = form.Value[n][0]
			}
		}
	}
	if query {
		for _, n := range names {
			if _, ok := out[n]; !ok {
				if v := c.Query(n); v != "" {
					out[n] = v
				}
			}
		}
	}
	return out, nil
}
