package service

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
)

// Bundle archives reach the service in two ways, both for admins only: an
// upload (multipart, streamed to <data>/uploads under a random id, never
// under the name the client gave), or a file name in the import folder an
// admin configured (--import-dir). No other server path is accepted, and
// no answer says whether a path outside the import folder exists: such
// names are refused by their text alone, before the filesystem is asked.

// errTooLarge classifies an upload past the limit (413).
var errTooLarge = fiber.ErrRequestEntityTooLarge

// uploadsDir is the folder under the data directory uploads are kept in.
const uploadsDir = "uploads"

// uploadField is the multipart field carrying the archive.
const uploadField = "archive"

// uploadIDRE is what upload ids look like.
var uploadIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// importNameRE is what a file name in the import folder may look like: no
// separators, no leading dot (so neither "." nor ".." nor hidden files).
var importNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}$`)

var (
	errTextUploadType    = text{"上传需要multipart/form-data请求体，其中字段%s是归档文件", "an upload needs a multipart/form-data body whose field %s is the archive"}
	hintUploadType       = text{"例如：curl -F archive=@hello.tgz", "for example: curl -F archive=@hello.tgz"}
	errTextUploadLarge   = text{"归档文件超过上传上限%d字节", "the archive is larger than the upload limit of %d bytes"}
	hintUploadLarge      = text{"用--upload-limit提高上限，或把文件放进导入文件夹", "raise the limit with --upload-limit, or put the file into the import folder"}
	errTextUploadMissing = text{"上传%q不存在", "upload %q does not exist"}
	hintUploadMissing    = text{"先用POST /api/v1/uploads上传归档文件，再使用它返回的id", "upload the archive with POST /api/v1/uploads first and use the id it answers"}
	errTextImportNone    = text{"服务器没有配置导入文件夹", "the server has no import folder"}
	hintImportNone       = text{"上传归档文件，或让管理员以--import-dir DIR启动服务", "upload the archive instead, or start the server with --import-dir DIR"}
	errTextImportName    = text{"%q不是导入文件夹中的文件名", "%q is not a file name in the import folder"}
	hintImportName       = text{"只写文件名（不带路径），文件须在导入文件夹中；其他位置的文件请上传", "give only the file's name (no path) of a file in the import folder; upload files from anywhere else"}
	errTextImportMissing = text{"导入文件夹中没有文件%q", "the import folder holds no file %q"}
	errTextAllowRole     = text{"只有管理员可以允许特权请求", "only admins may allow a bundle's privileged requests"}
	hintAllowRole        = text{"请管理员查看应用的权限并安装", "ask an admin to review the app's permissions and install it"}
	errTextAllowBad      = text{"不能允许%q", "%q cannot be allowed"}
	hintAllowBad         = text{"可选值：privileged", "use privileged"}
	errTextArchiveRole   = text{"只有管理员可以从引用或归档文件安装", "only admins may install by reference or from an archive"}
	hintArchiveRole      = text{"从目录安装应用，或请管理员安装", "install the app from the catalog, or ask an admin"}
)

// uploadArchive stores a bundle archive sent as multipart/form-data (field
// "archive"), streamed to the data directory and at most UploadLimit
// bytes: 201 {"id","size","name"}. Install it with {"upload": id}.
func (s *Server) uploadArchive(c *fiber.Ctx) error {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return &apiError{kind: engine.ErrInvalid, msg: errTextUploadType, msgArgs: []any{uploadField}, hint: hintUploadType}
	}
	limit := s.cfg.UploadLimit
	// The multipart framing adds a little; a body far past the limit is
	// refused before a byte of it is read.
	if cl := int64(c.Request().Header.ContentLength()); cl > limit+64<<10 {
		// The body stays unread: the connection cannot carry another request.
		c.Context().SetConnectionClose()
		return &apiError{kind: errTooLarge, msg: errTextUploadLarge, msgArgs: []any{limit}, hint: hintUploadLarge}
	}
	body := c.Context().RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(c.Body())
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return &apiError{kind: engine.ErrInvalid, msg: errTextUploadType, msgArgs: []any{uploadField}, hint: hintUploadType}
		}
		if err != nil {
			return &apiError{kind: engine.ErrInvalid, msg: errTextUploadType, msgArgs: []any{uploadField}, hint: hintUploadType, cause: err}
		}
		if part.FormName() != uploadField {
			_ = part.Close()
			continue
		}
		up, err := s.saveUpload(part, limit)
		if err != nil {
			c.Context().SetConnectionClose()
			return err
		}
		// Read what follows the file (the closing boundary, a chunked
		// body's last chunk) so that the connection can carry the next
		// request: left unread, it would be taken for that request's start.
		if !drainRest(c) {
			c.Context().SetConnectionClose()
		}
		s.audit(c, "upload", up.ID, "")
		return c.Status(fiber.StatusCreated).JSON(up)
	}
}

// saveUpload copies part, at most limit bytes, to a new file under
// <data>/uploads named by a random id; nothing is left behind on failure.
func (s *Server) saveUpload(part *multipart.Part, limit int64) (*apitype.Upload, error) {
	dir := filepath.Join(s.cfg.DataDir, uploadsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store upload: %w", err)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	final := filepath.Join(dir, id+".tgz")
	f, err := os.OpenFile(final+".part", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store upload: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(part, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		_ = os.Remove(final + ".part")
		return nil, &apiError{kind: engine.ErrInvalid, msg: errTextUploadType, msgArgs: []any{uploadField}, hint: hintUploadType, cause: err}
	case n > limit:
		_ = os.Remove(final + ".part")
		return nil, &apiError{kind: errTooLarge, msg: errTextUploadLarge, msgArgs: []any{limit}, hint: hintUploadLarge}
	}
	if err := os.Rename(final+".part", final); err != nil {
		_ = os.Remove(final + ".part")
		return nil, fmt.Errorf("store upload: %w", err)
	}
	name := part.FileName() // multipart already keeps only the base name
	return &apitype.Upload{ID: id, Size: n, Name: shorten(name)}, nil
}

// uploadPath is the file of an upload id; an id that is malformed and one
// that does not exist get the same answer.
func (s *Server) uploadPath(id string) (string, error) {
	missing := &apiError{kind: engine.ErrNotFound, msg: errTextUploadMissing, msgArgs: []any{shorten(id)}, hint: hintUploadMissing}
	if !uploadIDRE.MatchString(id) {
		return "", missing
	}
	p := filepath.Join(s.cfg.DataDir, uploadsDir, id+".tgz")
	if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
		return "", missing
	}
	return p, nil
}

// importPath is the file name in the import folder: names with a path,
// absolute paths and dot-names are refused without touching the
// filesystem, and so are symbolic links, so nothing outside the folder is
// ever opened or reported on.
func (s *Server) importPath(name string) (string, error) {
	if s.cfg.ImportDir == "" {
		return "", &apiError{kind: errForbidden, msg: errTextImportNone, hint: hintImportNone}
	}
	if !importNameRE.MatchString(name) || strings.Contains(name, "..") {
		return "", &apiError{kind: engine.ErrInvalid, msg: errTextImportName, msgArgs: []any{shorten(name)}, hint: hintImportName}
	}
	p := filepath.Join(s.cfg.ImportDir, name)
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("read import folder", "name", name, "err", err)
		}
		return "", &apiError{kind: engine.ErrNotFound, msg: errTextImportMissing, msgArgs: []any{name}, hint: hintImportName}
	}
	return p, nil
}

// allowOf checks an install's "allow" list: only "privileged", and only
// from admins.
func (s *Server) allowOf(c *fiber.Ctx, allow []string) (bool, error) {
	if len(allow) == 0 {
		return false, nil
	}
	for _, a := range allow {
		if a != "privileged" {
			return false, &apiError{kind: engine.ErrInvalid, msg: errTextAllowBad, msgArgs: []any{shorten(a)}, hint: hintAllowBad}
		}
	}
	if s.roleOf(c) != RoleAdmin {
		return false, &apiError{kind: errForbidden, msg: errTextAllowRole, hint: hintAllowRole}
	}
	return true, nil
}
